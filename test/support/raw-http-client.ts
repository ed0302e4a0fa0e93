import { connect, Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** A raw HTTP/1.1 client: writes bytes, reads answers (Content-Length framed) as they come. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  private async more(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer in time')), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async answer(timeoutMs = 5000): Promise<RawAnswer> {
    for (;;) {
      const headEnd = this.buffer.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const lines = this.buffer.toString('latin1', 0, headEnd).split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        const headers = lines.slice(1).map((line): [string, string] => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon), line.slice(colon + 1).trim()];
        });
        const length = Number(headers.find(([name]) => name.toLowerCase() === 'content-length')?.[1] ?? 0);
        if (this.buffer.length >= headEnd + 4 + length) {
          const body = this.buffer.toString('utf8', headEnd + 4, headEnd + 4 + length);
          this.buffer = this.buffer.subarray(headEnd + 4 + length);
          return { status, headers, body };
        }
      }
      await this.more(timeoutMs);
    }
  }

  async closedByServer(timeoutMs = 5000): Promise<void> {
    while (!this.closed) await this.more(timeoutMs).catch((error: Error) => {
      if (!this.closed) throw error;
    });
  }

  /** Ends this side (a FIN), as a client that stops sending but could still read. */
  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }
}
