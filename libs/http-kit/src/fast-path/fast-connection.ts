import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { httpDate } from './http-date';
import { emptyParsedRequest, FastRequest, HAND_OVER, NEED_MORE, parseFastRequest, ParserLimits } from './fast-request-parser';

/** What a fast route answers: a JSON document, and optionally what to do once it is written. */
export interface FastAnswer {
  status: number;
  /** JSON text. */
  body: string;
  /** Extra header lines, each ending in CRLF. */
  headers?: string;
  /** Called once: true when the answer reached the socket, false when the connection died first. */
  onSent?: (written: boolean) => void;
}

/** Extra headers as FastAnswer.headers wants them (one `name: value` line each, CRLF-ended); undefined for none. */
export function headerLines(headers: Record<string, string> | undefined): string | undefined {
  if (headers === undefined) return undefined;
  let lines = '';
  for (const [name, value] of Object.entries(headers)) lines += `${name}: ${value}\r\n`;
  return lines;
}

/** A fast route; it answers every request itself (errors included) and never rejects. */
export type FastRoute = (request: FastRequest) => FastAnswer | Promise<FastAnswer>;

export interface FastConnectionOptions extends ParserLimits {
  routes: ReadonlyMap<string, FastRoute>;
  paths: ReadonlySet<string>;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A request's head must be complete within this, and the whole request within requestTimeoutMs (0: none). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

interface Slot {
  text: string | null;
  onSent: ((written: boolean) => void) | undefined;
}

/** Answers a connection may owe at once before it stops reading (a client pipelining without reading). */
const MAX_PENDING_ANSWERS = 1024;

/** Node's own answer to a request that took too long to arrive. */
const REQUEST_TIMEOUT_ANSWER = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/**
 * One client connection on the fast path: requests are parsed as they arrive (pipelined ones
 * too), answered in order, and the answers that are ready together leave in one write. At the
 * first request the fast path does not take, the connection is handed to Node's HTTP server with
 * every unparsed byte, once the answers before it are out.
 */
export class FastConnection {
  private buffer: Buffer | null = null;
  private readonly slots: Slot[] = [];
  private readonly parsed = emptyParsedRequest();
  private handingOver = false;
  /** No more requests are read: the connection ends once its answers are out. */
  private finishing = false;
  private gone = false;
  private writeBlocked = false;
  private ended = false;
  /** The request being read is the last one (shutdown). */
  private lastRequest = false;
  private partialTimer: NodeJS.Timeout | null = null;
  private completedRequests = 0;
  private flushScheduled = false;
  private readingPaused = false;
  /** Routes waiting for something that must stop when the connection closes (few: blocking requests only). */
  private readonly closeWatchers = new Set<() => void>();

  constructor(
    private readonly socket: Socket,
    private readonly options: FastConnectionOptions,
    private readonly handOver: (socket: Socket) => void,
    private readonly onDone: (connection: FastConnection) => void,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(options.keepAliveTimeoutMs);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
    socket.on('timeout', this.onIdle);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** True when nothing is asked of it: no answer pending and no request half-read. */
  get idle(): boolean {
    return this.slots.length === 0 && this.buffer === null;
  }

  /**
   * Shutdown: reads no more requests, except one already arriving; closes now when idle, else
   * once its answers are out.
   */
  finish(): void {
    if (this.handingOver || this.gone) return;
    if (this.buffer !== null) {
      this.lastRequest = true;
      return;
    }
    this.finishing = true;
    this.clearPartialTimer();
    if (this.slots.length === 0) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = this.buffer === null ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.handingOver && !this.finishing) this.parse();
  };

  private parse(): void {
    const buffer = this.buffer!;
    let offset = 0;
    let waitingForClient = false;
    while (offset < buffer.length && !this.writeBlocked && !this.finishing) {
      if (this.slots.length >= MAX_PENDING_ANSWERS) {
        this.pauseReading();
        break;
      }
      const end = parseFastRequest(buffer, offset, this.options.paths, this.options, this.parsed);
      if (end === NEED_MORE) {
        waitingForClient = true;
        break;
      }
      if (end === HAND_OVER) {
        this.handingOver = true;
        break;
      }
      const parsed = this.parsed;
      if (parsed.close || this.lastRequest) this.finishing = true;
      this.dispatch({
        method: parsed.method,
        path: parsed.path,
        body: buffer.subarray(parsed.bodyStart, end),
        authorization: parsed.authorization,
        remoteAddress: this.socket.remoteAddress,
        watchClose: this.watchClose,
      });
      this.completedRequests++;
      offset = end;
    }
    this.buffer = offset >= buffer.length ? null : offset === 0 ? buffer : buffer.subarray(offset);
    if (this.finishing) this.buffer = null;
    if (this.handingOver) this.handOverWhenAnswered();
    // only a request the client has not finished sending is on the clock, not one we stopped reading
    else if (waitingForClient) this.watchPartial();
    else this.clearPartialTimer();
  }

  /** FastRequest.watchClose: one bound function per connection, nothing allocated per request that does not wait. */
  private readonly watchClose = (listener: () => void): (() => void) => {
    if (this.gone || this.ended) {
      queueMicrotask(listener);
      return () => {};
    }
    const watcher = (): void => listener();
    this.closeWatchers.add(watcher);
    return () => this.closeWatchers.delete(watcher);
  };

  private dispatch(request: FastRequest): void {
    const slot: Slot = { text: null, onSent: undefined };
    this.slots.push(slot);
    const route = this.options.routes.get(request.path)!;
    const answer = route(request);
    if (answer instanceof Promise) void answer.then((a) => this.fill(slot, a));
    else this.fill(slot, answer);
  }

  private fill(slot: Slot, answer: FastAnswer): void {
    const length = Buffer.byteLength(answer.body);
    slot.text =
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\nContent-Type: application/json\r\n` +
      `Date: ${httpDate()}\r\nContent-Length: ${length}\r\n${answer.headers ?? ''}` +
      `${this.finishing && this.slots[this.slots.length - 1] === slot ? 'Connection: close\r\n' : ''}\r\n${answer.body}`;
    slot.onSent = answer.onSent;
    if (this.slots[0] === slot && !this.flushScheduled) {
      // after the other answers completing in this tick (one commit settles many): one write for all
      this.flushScheduled = true;
      process.nextTick(this.scheduledFlush);
    }
  }

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Writes every answer that is ready, in request order, in one write. */
  private flush(): void {
    let count = 0;
    while (count < this.slots.length && this.slots[count]!.text !== null) count++;
    if (count === 0) return;
    const ready = this.slots.splice(0, count);
    if (this.gone) {
      for (const slot of ready) slot.onSent?.(false);
    } else {
      let text = ready[0]!.text!;
      for (let i = 1; i < ready.length; i++) text += ready[i]!.text!;
      const notify = ready.some((slot) => slot.onSent !== undefined);
      const flowing = this.socket.write(
        text,
        'utf8',
        notify
          ? (error?: Error | null) => {
              for (const slot of ready) slot.onSent?.(!error);
            }
          : undefined,
      );
      if (!flowing) {
        this.writeBlocked = true;
        this.pauseReading();
      }
    }
    // room again: read on (whether or not every answer is out), then finish up if nothing is owed
    if (this.readingPaused && !this.writeBlocked && this.slots.length < MAX_PENDING_ANSWERS / 2) this.resumeReading();
    if (this.slots.length === 0) this.afterAnswers();
  }

  /** Stops taking bytes from the socket (the kernel's buffers then push back on the client). */
  private pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pause();
  }

  private resumeReading(): void {
    this.readingPaused = false;
    if (this.buffer !== null && !this.handingOver && !this.finishing) this.parse();
    if (!this.readingPaused) this.socket.resume();
  }

  private afterAnswers(): void {
    if (this.gone) return;
    if (this.handingOver) this.handOverWhenAnswered();
    else if (this.finishing || (this.ended && this.buffer === null)) this.socket.end();
  }

  private readonly onDrain = (): void => {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    if (this.slots.length < MAX_PENDING_ANSWERS / 2) this.resumeReading();
  };

  private handOverWhenAnswered(): void {
    if (this.slots.length > 0 || this.gone) return;
    this.clearPartialTimer();
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('drain', this.onDrain);
    socket.off('end', this.onEnd);
    socket.off('timeout', this.onIdle);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    socket.setTimeout(0);
    // bytes the paused socket buffered but did not hand us yet belong to the unparsed rest
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      this.buffer = this.buffer === null ? chunk : Buffer.concat([this.buffer, chunk]);
    }
    this.onDone(this);
    this.handOver(socket);
    // Node's parser now owns the socket; feed it what was read but not parsed, before any later read
    if (this.buffer !== null) socket.emit('data', this.buffer);
    this.buffer = null;
    if (this.ended) socket.emit('end');
    if (this.readingPaused) socket.resume();
  }

  /** A request that stays half-read past the HTTP timeouts is answered 408, as Node does. */
  private watchPartial(): void {
    if (this.buffer === null) {
      this.clearPartialTimer();
      return;
    }
    if (this.partialTimer !== null) return;
    const limit = this.parsed.headComplete ? this.options.requestTimeoutMs || this.options.headersTimeoutMs : this.options.headersTimeoutMs;
    if (limit <= 0) return;
    const startedAt = this.completedRequests;
    this.partialTimer = setTimeout(() => {
      this.partialTimer = null;
      if (this.buffer === null || this.handingOver) return;
      if (this.completedRequests !== startedAt) {
        this.watchPartial();
        return;
      }
      this.finishing = true;
      this.buffer = null;
      this.slots.push({ text: REQUEST_TIMEOUT_ANSWER, onSent: undefined });
      this.flush();
    }, limit);
    this.partialTimer.unref();
  }

  private clearPartialTimer(): void {
    if (this.partialTimer !== null) clearTimeout(this.partialTimer);
    this.partialTimer = null;
  }

  private readonly onEnd = (): void => {
    this.ended = true;
    if (this.handingOver) return;
    this.buffer = null;
    // as Node's server aborts its pending requests when the client ends its side: waiting routes stop
    this.tellCloseWatchers();
    if (this.slots.length === 0) this.socket.end();
  };

  private tellCloseWatchers(): void {
    for (const watcher of this.closeWatchers) watcher();
    this.closeWatchers.clear();
  }

  private readonly onIdle = (): void => {
    if (this.idle && !this.handingOver) this.socket.destroy();
  };

  private readonly onError = (): void => {
    // a reset by the client; 'close' follows and settles what is pending
  };

  private readonly onClose = (): void => {
    this.gone = true;
    this.clearPartialTimer();
    this.tellCloseWatchers();
    // answers still being prepared are settled as unwritten when they are filled
    const ready = this.slots.filter((slot) => slot.text !== null);
    for (const slot of ready) {
      this.slots.splice(this.slots.indexOf(slot), 1);
      slot.onSent?.(false);
    }
    this.onDone(this);
  };
}
