// The two PostgreSQL clients under comparison, each used the way its documentation intends,
// behind one small shape so every scenario runs the same SQL through both:
//   open(url, { connections }) -> { query(name, text, params) -> rows, listen(channel, onPayload),
//                                   events: [{ at, source, code, message }], close() }
// `name` is the prepared statement's name: pg prepares only named statements; postgres prepares
// every statement by itself (keyed by its text) when asked to with `prepare: true`.
'use strict';
const pg = require('pg');
const postgres = require('postgres');

const describe = (error) => ({ code: error.code ?? error.errno ?? '-', message: String(error.message).slice(0, 120) });

function openPg(url, { connections, timeoutMs }) {
  // pg waits forever by default for a connection and for an answer; timeoutMs bounds both
  const timeouts = timeoutMs === undefined ? {} : { connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs };
  const pool = new pg.Pool({ connectionString: url, max: connections, ...timeouts });
  const events = [];
  const listeners = [];
  // an idle pooled client whose server goes away emits 'error' on the pool: unhandled, it ends the process
  pool.on('error', (error) => events.push({ at: performance.now(), source: 'pool error event', ...describe(error) }));
  return {
    client: timeoutMs === undefined ? 'pg' : `pg (timeouts ${timeoutMs} ms)`,
    events,
    query: (name, text, values) => pool.query(name ? { name, text, values } : { text, values }).then((result) => result.rows),
    async listen(channel, onPayload) {
      // LISTEN needs a connection of its own, held for good: a pg.Client outside the pool
      const listener = new pg.Client({ connectionString: url });
      listener.on('error', (error) => events.push({ at: performance.now(), source: 'listener error event', ...describe(error) }));
      listener.on('notification', (message) => onPayload(message.payload));
      await listener.connect();
      await listener.query(`LISTEN ${channel}`);
      listeners.push(listener);
    },
    async close() {
      await Promise.all(listeners.map((listener) => listener.end().catch(() => {})));
      await pool.end();
    },
  };
}

function openPostgres(url, { connections, backoffSeconds }) {
  const events = [];
  const sql = postgres(url, {
    max: connections,
    // the default backoff grows with every failed connect, shared by the whole pool (3^n/100 s,
    // up to 20 s): under load through an outage queries wait that long before even trying
    ...(backoffSeconds === undefined ? {} : { backoff: backoffSeconds }),
    onnotice: () => {},
    // postgres reports a connection that closes as an event too (it reconnects on its own)
    onclose: (id) => events.push({ at: performance.now(), source: 'onclose', code: '-', message: `connection ${id} closed` }),
  });
  return {
    client: backoffSeconds === undefined ? 'postgres' : `postgres (backoff ${backoffSeconds} s)`,
    events,
    query: (name, text, values) => sql.unsafe(text, values, { prepare: Boolean(name) }),
    // sql.listen opens one dedicated connection and LISTENs again after it reconnects
    listen: (channel, onPayload) => sql.listen(channel, onPayload).then(() => undefined),
    close: () => sql.end({ timeout: 1 }),
  };
}

const CLIENTS = { pg: openPg, postgres: openPostgres };

module.exports = { CLIENTS };
