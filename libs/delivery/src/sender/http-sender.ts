import { lookup as dnsLookup, LookupAddress, LookupOptions } from 'node:dns';
import type { Socket } from 'node:net';
import { Agent, buildConnector, Dispatcher, interceptors } from 'undici';
import { copiedRecord } from '#core';
import type { Attempt, Delivery } from '../domain/delivery-message';
import { AttemptResult, retryAfterMs, TransportErrorClass } from '../domain/outcome-policy';
import type { DestinationGuard } from './destination-guard';
import type { WebhookSigner } from './signature';

export interface SenderOptions {
  maxConnectionsPerOrigin: number;
  maxResponseBytes: number;
  followRedirects: boolean;
}

/** What one attempt produced: the result for the policy, and the record for the history. */
export interface SentAttempt {
  result: AttemptResult;
  attempt: Attempt;
}

/** Bytes of the response body kept in the attempt record. */
const SNIPPET_BYTES = 512;

class RefusedDestination extends Error {
  readonly code = 'EDESTINATIONREFUSED';
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Waits until the broker's own listeners are all known (they are judged on every socket). */
export interface ListenersReady {
  whenComplete(): Promise<void>;
}

/**
 * Sends deliveries over keep-alive connections (undici). The destination guard judges every new
 * socket at connect time, before a byte is written: the peer's actual address and port, whether
 * the URL named an IP literal or a name (undici's net.connect skips the lookup for literals), on
 * the first request and on every redirect hop. The lookup filter before it only chooses an
 * allowed address among those a name resolves to.
 */
export class HttpSender {
  private readonly agent: Dispatcher;

  constructor(
    private readonly guard: DestinationGuard,
    private readonly signer: WebhookSigner | null,
    private readonly options: SenderOptions,
    listeners: ListenersReady,
  ) {
    const lookup = (hostname: string, lookupOptions: LookupOptions, callback: LookupCallback): void => {
      dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
        if (error) return callback(error, '');
        const allowed: LookupAddress[] = [];
        let refusal = '';
        for (const address of addresses) {
          const why = guard.refuseAddress(address.address, hostname);
          if (why === null) allowed.push(address);
          else refusal = why;
        }
        if (allowed.length === 0) return callback(new RefusedDestination(refusal || `no address for ${hostname}`), '');
        if (lookupOptions.all) callback(null, allowed);
        else callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
    const tcp = buildConnector({ lookup });
    const tls = buildConnector({});
    const connect: buildConnector.connector = (target, callback) => {
      const secure = target.protocol === 'https:';
      const port = String(Number(target.port) || (secure ? 443 : 80));
      const byName = guard.refuseHost(target.hostname);
      if (byName !== null) return callback(new RefusedDestination(byName), null);
      // TCP first, judged, and only then TLS: not even a ClientHello goes to a refused peer
      tcp({ hostname: target.hostname, host: target.host, protocol: 'http:', port, localAddress: target.localAddress ?? null }, (error, socket) => {
        if (error !== null) return callback(error, null);
        listeners.whenComplete().then(() => {
          const why = guard.refusePeer(socket.remoteAddress ?? '', socket.remotePort ?? Number(port), target.hostname);
          if (why !== null) {
            socket.destroy();
            callback(new RefusedDestination(why), null);
          } else if (secure) {
            tls({ ...target, port, httpSocket: socket as Socket }, callback);
          } else {
            callback(null, socket);
          }
        }, (failure: unknown) => callback(failure instanceof Error ? failure : new Error(String(failure)), null));
      });
    };
    const agent = new Agent({ connections: options.maxConnectionsPerOrigin, connect });
    this.agent = options.followRedirects ? agent.compose(interceptors.redirect({ maxRedirections: 5 })) : agent;
  }

  async send(delivery: Delivery, timeoutMs: number): Promise<SentAttempt> {
    const at = Date.now();
    const finish = (result: AttemptResult, extra: Partial<Attempt>): SentAttempt => ({ result, attempt: { at, ms: Date.now() - at, ...extra } });
    const refusal = this.guard.refuseHost(delivery.hostname);
    if (refusal !== null) return finish({ error: 'forbidden-destination' }, { error: 'forbidden-destination', snippet: refusal });
    const headers: Record<string, string | string[]> = copiedRecord(delivery.headers);
    if (this.signer !== null) Object.assign(headers, this.signer.headers(delivery.id, delivery.body, at));
    try {
      const url = new URL(delivery.url);
      const { status, retryAfter, snippet } = await this.exchange(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: delivery.method as Dispatcher.HttpMethod,
          headers,
          body: delivery.body.length > 0 || !['GET', 'HEAD'].includes(delivery.method) ? delivery.body : null,
          // the timeout bounds the wait for the answer's headers and, again, for its body
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
      );
      const result: AttemptResult = { status };
      if (status === 429 || status === 503) {
        const wait = retryAfterMs(retryAfter, Date.now());
        if (wait !== undefined) result.retryAfterMs = wait;
      }
      return finish(result, { status, snippet });
    } catch (error) {
      const errorClass = classify(error);
      return finish({ error: errorClass }, { error: errorClass, snippet: String((error as Error)?.message ?? error).slice(0, SNIPPET_BYTES) });
    }
  }

  /**
   * One request on the agent's dispatch API: the status, Retry-After and the start of the body,
   * read by callbacks (request() would wrap every answer in a stream read by an async iterator,
   * a large share of a delivery's cost). A body over the limit is cut off with its connection;
   * the answer's status stands.
   */
  private exchange(options: Dispatcher.DispatchOptions): Promise<{ status: number; retryAfter: string | undefined; snippet: string }> {
    const limit = this.options.maxResponseBytes;
    return new Promise((resolve, reject) => {
      let status = 0;
      let retryAfter: string | undefined;
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let total = 0;
      let cutOff = false;
      const answer = (): void => resolve({ status, retryAfter, snippet: Buffer.concat(kept).toString('utf8') });
      this.agent.dispatch(options, {
        // its presence tells undici this handler speaks the controller API
        onRequestStart() {},
        onResponseStart(_controller, statusCode, responseHeaders) {
          status = statusCode;
          retryAfter = headerValue(responseHeaders['retry-after']);
        },
        onResponseData(controller, chunk) {
          total += chunk.length;
          if (keptBytes < SNIPPET_BYTES) {
            const part = chunk.subarray(0, SNIPPET_BYTES - keptBytes);
            kept.push(part);
            keptBytes += part.length;
          }
          if (total > limit && !cutOff) {
            cutOff = true;
            controller.abort(new Error('response body over the limit'));
          }
        },
        onResponseEnd() {
          answer();
        },
        onResponseError(_controller, error) {
          if (cutOff) answer();
          else reject(error);
        },
      });
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

function classify(error: unknown): TransportErrorClass {
  const code = String((error as { code?: unknown })?.code ?? '');
  const cause = String(((error as { cause?: { code?: unknown } })?.cause?.code) ?? '');
  for (const c of [code, cause]) {
    if (c === 'EDESTINATIONREFUSED') return 'forbidden-destination';
    if (c === 'ECONNREFUSED') return 'refused';
    if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') return 'dns';
    if (c.startsWith('UND_ERR_') && c.includes('TIMEOUT')) return 'timeout';
    if (c === 'ETIMEDOUT') return 'timeout';
    if (c === 'ECONNRESET' || c === 'EPIPE' || c === 'UND_ERR_SOCKET' || c === 'UND_ERR_CLOSED') return 'reset';
    // OpenSSL's verification codes: CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, UNABLE_TO_GET_ISSUER_CERT_LOCALLY …
    if (c.startsWith('ERR_TLS') || c.includes('CERT') || c.includes('VERIFY') || c === 'EPROTO' || c.startsWith('ERR_SSL')) return 'tls';
  }
  if (error instanceof RefusedDestination) return 'forbidden-destination';
  return 'other';
}
