/**
 * Where a message body that arrives in pieces is assembled. A large persistent body goes into
 * shared memory, so the store's writer thread binds it to SQLite straight from there: the body
 * is never copied into a batch on its way to disk (see WriteBatch.seal). Anything else is a plain
 * buffer, since zero-filled shared memory would only cost a memset for nothing.
 */

/** Bodies from this size on are worth sharing with the writer thread instead of copying. */
export const SHARED_BODY_MIN_BYTES = 64 * 1024;

export function allocateBody(size: number, persistent: boolean): Buffer {
  return persistent && size >= SHARED_BODY_MIN_BYTES ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size);
}

/** True when the writer thread can read `body` where it lies. */
export function isSharedBody(body: Uint8Array): boolean {
  return body.buffer instanceof SharedArrayBuffer && body.length >= SHARED_BODY_MIN_BYTES;
}
