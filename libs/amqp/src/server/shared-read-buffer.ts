import { Socket } from 'node:net';

/** Receives every chunk read from an adopted socket; must be done with it before returning. */
export type ChunkReader = (chunk: Buffer) => void;

/** Node keeps the libuv handle of a socket here; not part of its typed surface. */
interface WithHandle {
  _handle: object | null;
}

/**
 * One read buffer shared by every plain-TCP connection. Node's default reading allocates a fresh
 * 64 KB ArrayBuffer per read; at a gigabyte a second that external allocation alone starts a full
 * V8 garbage collection every few tens of milliseconds. With Node's `onread` option, libuv reads
 * straight into a buffer we own instead.
 *
 * One buffer serves all sockets because the event loop is single-threaded: libuv reads into it
 * and calls the socket's callback synchronously, and the next read (of any socket) only happens
 * after that callback returned. The reader must therefore copy whatever it keeps of a chunk.
 *
 * `onread` is only offered to sockets we construct, not to those a `net.Server` accepts, so a
 * server started with `pauseOnConnect` hands each accepted socket here and gets back a socket
 * wrapping the same handle, which reads through the shared buffer.
 */
export class SharedReadBuffer {
  private readonly buffer: Buffer;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafeSlow(size);
  }

  /**
   * A socket on `accepted`'s connection that reads through the shared buffer, calling `read`
   * for each chunk; or null when Node does not expose the handle (read `accepted` normally then).
   * `accepted` must not have started reading (server option `pauseOnConnect`).
   */
  adopt(accepted: Socket, read: ChunkReader): Socket | null {
    const holder = accepted as unknown as WithHandle;
    const handle = holder._handle;
    if (handle === null || typeof handle !== 'object') return null;
    holder._handle = null;
    // the old wrapper, now without a handle, only has to release its slot in the server
    accepted.destroy();
    const buffer = this.buffer;
    return new Socket({
      handle,
      readable: true,
      writable: true,
      onread: {
        buffer,
        callback: (bytes: number) => {
          read(buffer.subarray(0, bytes));
          return true;
        },
      },
    } as unknown as ConstructorParameters<typeof Socket>[0]);
  }
}
