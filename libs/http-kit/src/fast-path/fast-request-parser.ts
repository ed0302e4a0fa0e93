/**
 * The narrow HTTP/1.1 request parser of the fast path. It accepts only the plain shape of the hot
 * requests (a known path, HTTP/1.1, a Content-Length body or none, no Expect, no
 * Transfer-Encoding, no Upgrade) and says "hand over" for anything else, so Node's own parser
 * sees every request that needs more than this, byte for byte as it arrived.
 */

/** A complete request; `body` is a view into the read buffer, valid until the handler returns. */
export interface FastRequest {
  method: string;
  path: string;
  body: Buffer;
  authorization: string | undefined;
  remoteAddress: string | undefined;
  /**
   * Calls `listener` if the connection closes before this request's answer is out (a route that
   * waits, e.g. a blocking receive, stops waiting); returns what stops watching.
   */
  watchClose(listener: () => void): () => void;
}

/** More bytes are needed for the request at the offset. */
export const NEED_MORE = -1;
/** The request at the offset is not for the fast path: Node's HTTP server takes the connection. */
export const HAND_OVER = -2;

export interface ParsedRequest {
  method: string;
  path: string;
  bodyStart: number;
  /** Offset just past the request. */
  end: number;
  authorization: string | undefined;
  /** The client sent `Connection: close`. */
  close: boolean;
  /** The head is complete (only the body is missing) when the result is NEED_MORE. */
  headComplete: boolean;
}

export interface ParserLimits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** RFC 9110 token characters: a header name made of anything else goes to Node (400). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DIGITS = /^[0-9]{1,15}$/;
const FAST_METHODS = new Set(['GET', 'POST', 'PUT']);

/**
 * Whether a request head has a control character (other than tab) or a CR or LF that is not part
 * of a CRLF: Node decides about those. A loop over the bytes (a regular expression with a
 * lookbehind cost a third of the parse).
 */
function suspectHead(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = buffer[i]!;
    if (byte >= 0x20) {
      if (byte === 0x7f) return true;
      continue;
    }
    if (byte === 0x09) continue;
    if (byte === 0x0d && i + 1 < end && buffer[i + 1] === 0x0a) {
      i++;
      continue;
    }
    // a lone CR or LF, or another control character
    return true;
  }
  return false;
}

/**
 * Parses the request starting at `start`. Returns the offset past it (and fills `out`), NEED_MORE
 * or HAND_OVER.
 */
export function parseFastRequest(
  buffer: Buffer,
  start: number,
  paths: ReadonlySet<string>,
  limits: ParserLimits,
  out: ParsedRequest,
): number {
  out.headComplete = false;
  const headEnd = buffer.indexOf(CRLFCRLF, start);
  if (headEnd < 0) return buffer.length - start > limits.maxHeaderBytes ? HAND_OVER : NEED_MORE;
  if (headEnd - start > limits.maxHeaderBytes) return HAND_OVER;
  if (suspectHead(buffer, start, headEnd)) return HAND_OVER;
  const head = buffer.toString('latin1', start, headEnd);

  let lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = head.length;
  const firstSpace = head.indexOf(' ');
  const secondSpace = firstSpace < 0 ? -1 : head.indexOf(' ', firstSpace + 1);
  if (secondSpace < 0 || secondSpace > lineEnd) return HAND_OVER;
  const method = head.slice(0, firstSpace);
  const path = head.slice(firstSpace + 1, secondSpace);
  if (!FAST_METHODS.has(method) || !paths.has(path) || head.slice(secondSpace + 1, lineEnd) !== 'HTTP/1.1') return HAND_OVER;

  let contentLength = -1;
  let hosts = 0;
  let authorization: string | undefined;
  let close = false;
  let pos = lineEnd + 2;
  while (pos < head.length) {
    let end = head.indexOf('\r\n', pos);
    if (end < 0) end = head.length;
    const colon = head.indexOf(':', pos);
    if (colon <= pos || colon > end) return HAND_OVER;
    const name = head.slice(pos, colon);
    if (!TOKEN.test(name)) return HAND_OVER;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hosts++;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          const value = head.slice(colon + 1, end).trim();
          if (contentLength >= 0 || !DIGITS.test(value)) return HAND_OVER;
          contentLength = Number(value);
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return HAND_OVER;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') return HAND_OVER;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') return HAND_OVER;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') {
          const value = head.slice(colon + 1, end).trim().toLowerCase();
          if (value === 'close') close = true;
          else if (value !== 'keep-alive') return HAND_OVER;
        }
        break;
      case 13:
        if (name.toLowerCase() === 'authorization') {
          if (authorization !== undefined) return HAND_OVER;
          authorization = head.slice(colon + 1, end).trim();
        }
        break;
    }
    pos = end + 2;
  }
  // HTTP/1.1 needs exactly one Host: Node (like Go's net/http) answers the others with 400
  if (hosts !== 1 || contentLength > limits.maxBodyBytes) return HAND_OVER;
  const bodyStart = headEnd + 4;
  const requestEnd = bodyStart + Math.max(contentLength, 0);
  out.headComplete = true;
  if (buffer.length < requestEnd) return NEED_MORE;
  out.method = method;
  out.path = path;
  out.bodyStart = bodyStart;
  out.end = requestEnd;
  out.authorization = authorization;
  out.close = close;
  return requestEnd;
}

export function emptyParsedRequest(): ParsedRequest {
  return { method: '', path: '', bodyStart: 0, end: 0, authorization: undefined, close: false, headComplete: false };
}
