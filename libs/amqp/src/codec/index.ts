// The codec's API for the rest of the door and for tests. The door's own modules import from the
// defining files instead (./frame, ./content, ./methods.generated …): compiled to CommonJS, every
// re-export here is a getter on an exports object V8 keeps in dictionary mode, so each use on a
// hot path was a dictionary lookup and a call (LoadIC and megamorphic keyed loads were 11.7 % of
// the main thread's samples under a quorum-queue publish/consume run, 5.1 % with direct imports).
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
