/** A small client for the management API over real HTTP, with basic auth. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  json: unknown;
  text: string;
}

export class ManagementClient {
  constructor(
    readonly base: string,
    private readonly user = 'guest',
    private readonly password = 'guest',
  ) {}

  as(user: string, password: string): ManagementClient {
    return new ManagementClient(this.base, user, password);
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, headers: response.headers, json, text };
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T> {
    const response = await this.request('GET', path);
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.text}`);
    return response.json as T;
  }

  put(path: string, body: unknown): Promise<ApiResponse> {
    return this.request('PUT', path, body);
  }

  post(path: string, body: unknown): Promise<ApiResponse> {
    return this.request('POST', path, body);
  }

  delete(path: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request('DELETE', path, undefined, headers);
  }
}
