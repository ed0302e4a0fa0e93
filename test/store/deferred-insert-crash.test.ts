/**
 * kill -9 of the broker process while 1 MB persistent messages flow from a confirming publisher to
 * a consumer that acks each one after 0-60 ms: the store defers the insert of a body a consumer
 * holds (DeferredInserts) for STORE_DEFER_LARGE_MS (30 ms here), so some are spared by their ack and some written
 * late. After each restart, every message that was confirmed and never acked must be there.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { BrokerProcess, startAmqpBrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';
import { channel, closeQuietly, confirmChannel, connect, freePort, withTimeout } from '../support/amqp-e2e';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const QUEUE = 'deferred-crash';
const BODY_BYTES = 1024 * 1024;
const UNCONFIRMED = 20;
const ROUNDS = 3;

const startProcess = (dataDir: string, port: number): Promise<BrokerProcess> => startAmqpBrokerProcess(dataDir, port, cleanups, { STORE_DEFER_LARGE_MS: '30' });

function bodyOf(id: string): Buffer {
  const body = Buffer.alloc(BODY_BYTES, 0x2e);
  body.write(`${id};`, 0, 'latin1');
  return body;
}

const idOf = (content: Buffer): string => content.toString('latin1', 0, content.indexOf(0x3b));

interface Ledger {
  confirmed: Set<string>;
  /** Acks the consumer sent (the broker may not have read the last ones before it died). */
  acked: Set<string>;
}

/** Publishes and consumes until the broker dies (killed after `loadMs`); returns how many were published. */
async function loadUntilKilled(url: string, proc: BrokerProcess, round: number, loadMs: number, ledger: Ledger): Promise<number> {
  const conn = await connect(url);
  const consumerConn = await connect(url);
  const publisher = await confirmChannel(conn);
  const consumer = await channel(consumerConn);
  await publisher.assertQueue(QUEUE, { durable: true });
  await consumer.prefetch(50);
  let dead = false;
  const died = Promise.all([conn.closed, consumerConn.closed]).then(() => void (dead = true));
  await consumer.consume(QUEUE, (message: ConsumeMessage | null) => {
    if (message === null) return;
    const id = idOf(message.content);
    setTimeout(
      () => {
        if (dead) return;
        try {
          consumer.ack(message);
          ledger.acked.add(id);
        } catch {
          // the connection is gone: not acked
        }
      },
      Math.floor(Math.random() * 60),
    );
  });
  let published = 0;
  let unconfirmed = 0;
  const publishMore = (): void => {
    while (!dead && unconfirmed < UNCONFIRMED) {
      const id = `r${round}-m${++published}`;
      unconfirmed++;
      try {
        publisher.sendToQueue(QUEUE, bodyOf(id), { persistent: true }, (error: unknown) => {
          unconfirmed--;
          if (error === null || error === undefined) ledger.confirmed.add(id);
          if (!dead) setImmediate(publishMore);
        });
      } catch {
        return;
      }
    }
  };
  publishMore();
  await new Promise((resolve) => setTimeout(resolve, loadMs));
  proc.child.kill('SIGKILL');
  await proc.exited;
  await withTimeout(died, 10_000, 'clients see the broker gone');
  await closeQuietly(conn, 1000);
  await closeQuietly(consumerConn, 1000);
  return published;
}

/** Takes every message left in the queue (acking it), returning their ids. */
async function drainIds(url: string): Promise<string[]> {
  const conn = await connect(url);
  try {
    const ch = await channel(conn);
    await ch.assertQueue(QUEUE, { durable: true });
    const ids: string[] = [];
    for (;;) {
      const message = await ch.get(QUEUE, { noAck: true });
      if (message === false) return ids;
      ids.push(idOf(message.content));
    }
  } finally {
    await closeQuietly(conn);
  }
}

it('kill -9 while 1 MB persistent messages are confirmed and acked: every confirmed, unacked message survives', { timeout: 240_000 }, async () => {
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  const port = await freePort();
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const ledger: Ledger = { confirmed: new Set(), acked: new Set() };
  let published = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const proc = await startProcess(dir.path, port);
    published += await loadUntilKilled(url, proc, round, 1000 + Math.floor(Math.random() * 2000), ledger);
  }
  const last = await startProcess(dir.path, port);
  const left = new Set(await drainIds(url));
  last.child.kill('SIGTERM');
  await last.exited;

  const lost = [...ledger.confirmed].filter((id) => !ledger.acked.has(id) && !left.has(id));
  const confirmedAcked = [...ledger.confirmed].filter((id) => ledger.acked.has(id)).length;
  assert.ok(ledger.confirmed.size > 0 && ledger.acked.size > 0, `load ran: ${published} published, ${ledger.confirmed.size} confirmed, ${ledger.acked.size} acked`);
  assert.deepEqual(lost, [], `confirmed and never acked, yet gone (${ledger.confirmed.size} confirmed, ${confirmedAcked} of them acked, ${left.size} left)`);
});
