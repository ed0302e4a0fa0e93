export * from './methods.generated';
export { FrameError, UnknownMethodError } from './errors';
export {
  FRAME_METHOD,
  FRAME_HEADER,
  FRAME_BODY,
  FRAME_HEARTBEAT,
  FRAME_END,
  FRAME_MIN_SIZE,
  FRAME_HEADER_SIZE,
  FRAME_OVERHEAD,
  PROTOCOL_HEADER,
  HEARTBEAT_FRAME,
  FrameParser,
  checkProtocolHeader,
  beginFrame,
  endFrame,
  beginMethodFrame,
  writeHeartbeatFrame,
} from './frame';
export { decodeMethodFrame } from './method-frame';
export type { FrameHandler, ProtocolHeaderCheck } from './frame';
export {
  BASIC_CLASS_ID,
  ContentHeader,
  encodeContentHeaderFrame,
  encodeBodyFrames,
  encodeContent,
  decodeContentHeader,
} from './content';
