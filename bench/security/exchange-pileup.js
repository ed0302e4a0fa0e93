#!/usr/bin/env node
// Queue declare + delete cost while never-bound auto-delete exchanges pile up (they stay, as in
// RabbitMQ): it must not grow with the number of exchanges. In process, on the in-memory store.
//   npm run build && node bench/security/exchange-pileup.js
'use strict';
const { join } = require('node:path');
const { Broker, MemoryStore } = require(join(__dirname, '..', '..', 'dist', 'libs', 'core', 'src', 'index.js'));

(async () => {
  const broker = await Broker.open(new MemoryStore(), { dataDir: '/tmp', queueMemoryBudget: 64 * 1024 * 1024 });
  const vhost = broker.defaultVhost;
  let exchanges = 0;
  for (const add of [10, 30_000, 70_000]) {
    for (let i = 0; i < add; i++) vhost.declareExchange({ name: `pileup-${exchanges++}`, type: 'fanout', autoDelete: true });
    const started = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) {
      vhost.declareQueue({ name: `q${i}`, exclusive: true, owner: 'c' });
      vhost.deleteQueue(`q${i}`, { owner: 'c' });
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6 / 2000;
    console.log(`${String(exchanges).padStart(7)} exchanges: queue declare + delete ${ms.toFixed(4)} ms`);
  }
  await broker.close();
})();
