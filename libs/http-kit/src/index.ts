// Small helpers the HTTP doors share (they may not import each other).
export { BodyTooLargeError, readRawBody } from './raw-body';
