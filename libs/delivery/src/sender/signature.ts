import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-signature` is `v1,` and
 * the base64 HMAC-SHA256, keyed with the base64-decoded part of a `whsec_…` secret, of
 * `${id}.${timestamp}.${body}`.
 */
export class WebhookSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
    if (this.key.length === 0) throw new Error('the signing secret decodes to no bytes (expected whsec_<base64>)');
  }

  sign(id: string, timestampSeconds: number, body: Buffer): string {
    const mac = createHmac('sha256', this.key);
    mac.update(`${id}.${timestampSeconds}.`);
    mac.update(body);
    return `v1,${mac.digest('base64')}`;
  }

  /** The three headers for one attempt (a fresh timestamp each attempt, the same id). */
  headers(id: string, body: Buffer, now: number = Date.now()): Record<string, string> {
    const timestamp = Math.floor(now / 1000);
    return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': this.sign(id, timestamp, body) };
  }
}
