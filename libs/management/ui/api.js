// The management API as the page calls it: HTTP basic auth on every call (the credentials stay in
// sessionStorage, as RabbitMQ's UI keeps them), errors carrying the server's reason.

/** A failed API call: `status` 0 means the broker was not reached at all. */
export class ApiError extends Error {
  constructor(status, reason, kind) {
    super(reason);
    this.status = status;
    /** 'unreachable', 'login' (the credentials are refused), 'refused' (this user may not), or 'failed'. */
    this.kind = kind;
  }
}

let credentials = sessionStorage.getItem('credentials');

/** Who is logged in, and what the page offers them (the server decides in the end). */
export const me = { name: '', tags: [] };

export const loggedIn = () => credentials !== null;

export function setCredentials(user, password) {
  credentials = btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)));
}

export function keepCredentials() {
  sessionStorage.setItem('credentials', credentials);
}

export function forgetCredentials() {
  credentials = null;
  sessionStorage.removeItem('credentials');
}

const has = (tag) => me.tags.includes(tag) || me.tags.includes('administrator');
export const isAdmin = () => me.tags.includes('administrator');
export const isPolicymaker = () => has('policymaker');
/**
 * Whether to show buttons that change things. A user tagged only `monitoring` watches: it gets
 * none (RabbitMQ would still let it act where it has permissions; the API keeps deciding).
 */
export const mayWrite = () => isAdmin() || me.tags.includes('management') || me.tags.includes('policymaker');

export async function api(method, path, body, headers = {}) {
  let response;
  try {
    response = await fetch(`/api${path}`, {
      method,
      headers: { authorization: `Basic ${credentials}`, 'x-requested-with': 'XMLHttpRequest', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'Broker unreachable', 'unreachable');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    // a proxy's or a stopping server's page: keep the status
  }
  if (response.ok) return data;
  const reason = data && typeof data.reason === 'string' ? data.reason : `${response.status} ${response.statusText}`;
  // RabbitMQ: 401 not_authorised refuses what this user may do; any other 401 refuses the login
  if (response.status === 401) throw new ApiError(401, reason, data && data.error === 'not_authorised' ? 'refused' : 'login');
  if (response.status >= 502 && response.status <= 504 && data === null) throw new ApiError(response.status, 'Broker unreachable', 'unreachable');
  throw new ApiError(response.status, reason, 'failed');
}

export const enc = encodeURIComponent;
