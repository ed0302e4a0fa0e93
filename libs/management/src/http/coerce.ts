import { Transform } from 'class-transformer';

/** RabbitMQ accepts "true"/"false" strings for booleans (rabbitmqadmin sends them so). */
export const ToBoolean = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));

/** …and numeric strings for numbers. */
export const ToNumber = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value));
