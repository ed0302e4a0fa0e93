import { request as httpRequest, Agent } from 'node:http';

export interface JobsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

/** A keep-alive HTTP client for the job API (what dispenserd clients do, minus the sockets churn). */
export class JobsClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });

  constructor(readonly base: string) {}

  /** Sends `body` (string as-is, objects as JSON) with curl's default form content type. */
  send(path: string, body?: unknown, options: { method?: string; contentType?: string } = {}): Promise<JobsResponse> {
    const payload = body === undefined ? '' : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const url = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: options.method ?? 'POST',
          agent: this.agent,
          headers: {
            'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: Record<string, unknown> = {};
            try {
              json = JSON.parse(text) as Record<string, unknown>;
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  schedule(message: unknown, extra: Record<string, unknown> = {}): Promise<JobsResponse> {
    return this.send('/schedule', { message, ...extra });
  }

  close(): void {
    this.agent.destroy();
  }
}
