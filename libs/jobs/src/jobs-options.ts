import type { HttpAuthOptions, HttpTimeouts, HttpTls } from '#http-kit';

export interface JobsOptions {
  port: number;
  host: string;
  timeouts: HttpTimeouts;
  /** HTTPS when set. */
  tls: HttpTls | null;
  /** Credentials asked of callers; off by default, as dispenserd asks for none. */
  auth: HttpAuthOptions;
  /** Virtual host whose queues are the lanes. */
  vhost: string;
  /** Lane `x` is the queue `${queuePrefix}x`. */
  queuePrefix: string;
  /** Largest request body accepted (413 above). */
  maxBodyBytes: number;
  /** dispenserd's throttle_receive / throttle_schedule: 25 ms between operations. */
  throttleReceive: boolean;
  throttleSchedule: boolean;
  /** Serve /schedule, /receive_noblock, /receive_block and /ack on the lean HTTP fast path (the rest stays on Fastify). */
  fastPath: boolean;
  /** Visibility timeout of an acknowledged receive when the request names none. */
  defaultLeaseMs: number;
}

export const JOBS_OPTIONS = Symbol('JOBS_OPTIONS');

/** dispenserd's default priority (lower is served first). */
export const DEFAULT_PRIORITY = 512;
export const MAX_PRIORITY = 0xffffffff;
export const DEFAULT_LANE = 'main';
/** What the status document reports, as dispenserd does. */
export const COMPAT_NAME = 'dispenserd';
export const COMPAT_VERSION = '0.0.3';
