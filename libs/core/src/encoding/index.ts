export { ByteWriter } from './byte-writer';
export { ByteReader, DecodeError } from './byte-reader';
export {
  Decimal,
  TypedValue,
  MAX_FIELD_NESTING,
  encodeFieldTable,
  decodeFieldTable,
  encodeFieldArray,
  decodeFieldArray,
} from './field-table';
export type { FieldTable, FieldValue, FieldTypeCode } from './field-table';
export {
  PropertyFlag,
  encodeProperties,
  encodePropertiesToBuffer,
  decodeProperties,
  readProperties,
  peekProperties,
  decodeHeadersAt,
} from './properties';
export type { MessageProperties, PropertiesPeek } from './properties';
export { MAX_PROPERTY_LIST_BYTES, fieldTableProblem, propertiesProblem } from './encodable';
