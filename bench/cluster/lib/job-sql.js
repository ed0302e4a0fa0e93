// The SQL of the cluster store's job lanes as designed for issue 28 (a sketch, not the store):
// one narrow table, group commit (one multi-row INSERT per commit), batched claims with
// FOR UPDATE SKIP LOCKED in priority-then-FIFO order, batched completes. Shared by the client
// comparison and the anchors bench, so both measure the same statements.
'use strict';

const SCHEMA = [
  'DROP TABLE IF EXISTS bench_jobs',
  `CREATE TABLE bench_jobs (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     lane int NOT NULL,
     priority int NOT NULL,
     body text NOT NULL,
     claimed_by text,
     claimed_until timestamptz)`,
  'CREATE INDEX bench_jobs_ready ON bench_jobs (lane, priority, id) WHERE claimed_by IS NULL',
];
const INSERT_BATCH = `INSERT INTO bench_jobs (lane, priority, body)
  SELECT * FROM unnest($1::int[], $2::int[], $3::text[]) RETURNING id`;
const INSERT_ONE = 'INSERT INTO bench_jobs (lane, priority, body) VALUES ($1, $2, $3)';
const CLAIM = `UPDATE bench_jobs SET claimed_by = $1, claimed_until = now() + interval '30 seconds'
  WHERE id IN (SELECT id FROM bench_jobs WHERE lane = $2 AND claimed_by IS NULL
               ORDER BY priority, id FOR UPDATE SKIP LOCKED LIMIT $3)
  RETURNING id, body`;
const COMPLETE = 'DELETE FROM bench_jobs WHERE id = ANY($1::bigint[])';

/**
 * Group commit: schedule() queues a row and resolves with its id once the commit holding it is
 * done; while one INSERT is in flight, the rows arriving meanwhile wait for the next one.
 */
function groupCommitter(db, onCommit = () => {}) {
  let lanes = [];
  let priorities = [];
  let bodies = [];
  let waiters = [];
  let committing = false;
  const commitMs = [];
  const rowsPerCommit = [];
  async function flush() {
    if (committing || waiters.length === 0) return;
    committing = true;
    const batch = { lanes, priorities, bodies, waiters };
    lanes = [];
    priorities = [];
    bodies = [];
    waiters = [];
    const started = performance.now();
    try {
      const rows = await db.query('insert_batch', INSERT_BATCH, [batch.lanes, batch.priorities, batch.bodies]);
      for (let i = 0; i < batch.waiters.length; i++) batch.waiters[i].resolve(rows[i].id);
    } catch (error) {
      for (const waiter of batch.waiters) waiter.reject(error);
    }
    commitMs.push(performance.now() - started);
    rowsPerCommit.push(batch.waiters.length);
    committing = false;
    onCommit();
    void flush();
  }
  return {
    commitMs,
    rowsPerCommit,
    schedule(lane, priority, body) {
      return new Promise((resolve, reject) => {
        lanes.push(lane);
        priorities.push(priority);
        bodies.push(body);
        waiters.push({ resolve, reject });
        void flush();
      });
    },
  };
}

module.exports = { SCHEMA, INSERT_BATCH, INSERT_ONE, CLAIM, COMPLETE, groupCommitter };
