// Small helpers the HTTP doors share (they may not import each other).
export { BodyTooLargeError, readRawBody } from './raw-body';
export { BROKER_ERROR_HTTP_STATUS } from './broker-error-status';
