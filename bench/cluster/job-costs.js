#!/usr/bin/env node
// Where a job's CPU goes, phase by phase: what bounds ours on a machine whose cores the database,
// the node and the load generator share (issue 28's pg-boss comparison).
//
//   node bench/cluster/job-costs.js [--store postgres|sqlite] [--producers 50] [--receivers 50]
//        [--batch 0] [--seconds 5] [--rounds 2]
//
// Each round: one node on a fresh private PostgreSQL (or its own SQLite directory); phase 1,
// --producers keep-alive connections schedule one job per call for --seconds; phase 2,
// --receivers connections receive with an ack lease and acknowledge until the lane is empty (with
// --batch N, up to N jobs per receive, acknowledged in one request: the job API's batch verbs).
// Per phase: jobs/s and CPU microseconds per job of the node process (all its threads), of
// PostgreSQL (every server process) and of this process (the HTTP clients). The sum of the three
// is what one job costs the machine; cores / sum is the most any load could reach here.
'use strict';
const { request, Agent } = require('undici');
const { startNodes } = require('./lib/broker-nodes');
const { startPrivatePostgres } = require('./lib/private-postgres');
const { flags, median } = require('./lib/stats');

const options = flags(process.argv.slice(2), { store: 'postgres', producers: 50, receivers: 50, batch: 0, seconds: 5, rounds: 2 });
const LANE = 'costs';

async function round() {
  const server = options.store === 'postgres' ? startPrivatePostgres() : null;
  const nodes = await startNodes({ count: 1, store: options.store, databaseUrl: server?.url, doors: ['jobs'] });
  const agent = new Agent({ connections: Math.max(options.producers, options.receivers) });
  const base = nodes.list[0].jobsUrl;
  const post = async (path, body) => {
    const response = await request(base + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, dispatcher: agent });
    return response.body.json();
  };
  const measure = async (work) => {
    const cpu0 = nodes.cpuSeconds();
    const db0 = server?.cpuSeconds() ?? 0;
    const own0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const jobs = await work();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const own = process.cpuUsage(own0);
    const per = (s) => Math.round((s * 1e6) / jobs);
    return {
      jobs,
      perSecond: Math.round(jobs / seconds),
      nodeUs: per(nodes.cpuSeconds() - cpu0),
      dbUs: server === null ? 0 : per(server.cpuSeconds() - db0),
      clientUs: per((own.user + own.system) / 1e6),
    };
  };
  try {
    const schedule = await measure(async () => {
      let done = 0;
      const end = Date.now() + options.seconds * 1000;
      await Promise.all(
        Array.from({ length: options.producers }, async () => {
          while (Date.now() < end) {
            const answer = await post('/schedule', { lane: LANE, message: 'x'.repeat(64) });
            if (answer.status !== 'ok') throw new Error(`/schedule: ${JSON.stringify(answer)}`);
            done++;
          }
        }),
      );
      return done;
    });
    const receive = await measure(async () => {
      let done = 0;
      await Promise.all(
        Array.from({ length: options.receivers }, async () => {
          for (;;) {
            if (options.batch > 0) {
              const answer = await post('/receive_noblock', { lane: LANE, ack: true, timeout_ms: 600_000, count: options.batch });
              if (answer.jobs.length === 0) return;
              const acked = await post('/ack', { ids: answer.jobs.map((job) => job.id) });
              if (acked.acked !== answer.jobs.length) throw new Error(`/ack: ${JSON.stringify(acked)}`);
              done += answer.jobs.length;
              continue;
            }
            const job = await post('/receive_noblock', { lane: LANE, ack: true, timeout_ms: 600_000 });
            if (typeof job.id !== 'string') return; // empty: the lane is drained
            const acked = await post('/ack', { id: job.id });
            if (acked.status !== 'ok') throw new Error(`/ack: ${JSON.stringify(acked)}`);
            done++;
          }
        }),
      );
      return done;
    });
    if (receive.jobs !== schedule.jobs) throw new Error(`scheduled ${schedule.jobs}, received and acknowledged ${receive.jobs}`);
    return { schedule, receive };
  } finally {
    await agent.close();
    await nodes.stop();
    server?.stop();
  }
}

(async () => {
  const rounds = [];
  for (let i = 1; i <= options.rounds; i++) {
    const result = await round();
    rounds.push(result);
    console.log(`RESULT ${JSON.stringify({ round: i, store: options.store, ...result })}`);
  }
  const show = (phase) => {
    const pick = (field) => median(rounds.map((r) => r[phase][field]));
    const sum = pick('nodeUs') + pick('dbUs') + pick('clientUs');
    console.log(
      `${phase.padEnd(10)} ${String(pick('perSecond')).padStart(6)} jobs/s   CPU µs per job: node ${pick('nodeUs')}, database ${pick('dbUs')}, clients ${pick('clientUs')} = ${sum}`,
    );
    return sum;
  };
  console.log(`\n# one node, STORE=${options.store}, ${options.producers} producers, ${options.receivers} receivers${options.batch > 0 ? ` taking batches of ${options.batch}` : ''}; medians of ${options.rounds} rounds`);
  const total = show('schedule') + show('receive');
  console.log(`per job end to end: ${total} CPU µs on this machine, at most ~${Math.round(2e6 / total)} jobs/s on 2 cores if nothing else ran`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
