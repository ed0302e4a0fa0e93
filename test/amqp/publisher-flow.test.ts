/**
 * Flow control of a publisher that never waits for its confirms (RabbitMQ's credit flow, here by
 * the publishes of a connection that the store has not committed yet): the broker stops reading
 * the connection while they are over AMQP_FLOW_UNCOMMITTED_MESSAGES, so what it holds stays
 * bounded whatever the client sends; the connection shows the state `flow` meanwhile; nothing is
 * refused; and every confirmed message survives kill -9.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { CommitToken } from '#core';
import { UncommittedPublishes } from '../../libs/amqp/src/connection/uncommitted-publishes';
import { startTestApp, TestApp } from '../support/app-harness';
import { BrokerProcess, startAmqpBrokerProcess } from '../support/broker-process';
import { channel, closeQuietly, confirmChannel, connect, drain, freePort, withTimeout } from '../support/amqp-e2e';
import { ManagementClient } from '../support/management-client';
import { tempDir } from '../support/temp-dir';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const LIMIT_MESSAGES = 200;
const BODY_BYTES = 1024;

/** A body that carries its number (for the order check) and is BODY_BYTES long. */
function numbered(n: number): Buffer {
  const bytes = Buffer.alloc(BODY_BYTES, 0x61);
  bytes.write(`${n};`);
  return bytes;
}

const numberOf = (text: string): number => Number(text.slice(0, text.indexOf(';')));

describe('UncommittedPublishes', () => {
  /** A durability whose commits the test answers by hand. */
  function manualDurability(): { durability: { durabilityToken(): CommitToken; onDurable(token: CommitToken, callback: (ok: boolean) => void): void }; commit(token: number, ok?: boolean): void; waiting: number[] } {
    const callbacks = new Map<number, ((ok: boolean) => void)[]>();
    const waiting: number[] = [];
    return {
      durability: {
        durabilityToken: () => 0 as CommitToken,
        onDurable(token, callback) {
          waiting.push(token);
          callbacks.set(token, [...(callbacks.get(token) ?? []), callback]);
        },
      },
      commit(token, ok = true) {
        for (const callback of callbacks.get(token) ?? []) callback(ok);
        callbacks.delete(token);
      },
      waiting,
    };
  }

  it('counts publishes per commit, not per message, and reports once when back within the limit', () => {
    const store = manualDurability();
    let relieved = 0;
    const uncommitted = new UncommittedPublishes(store.durability, { messages: 3, bytes: 0 }, () => relieved++);
    uncommitted.add(0 as CommitToken, 100); // transient: waits for nothing
    assert.equal(uncommitted.messages, 0);
    for (let i = 0; i < 3; i++) uncommitted.add(7 as CommitToken, 100);
    assert.deepEqual(store.waiting, [7], 'one callback for the batch');
    assert.equal(uncommitted.overLimit, false, 'at the limit is within it');
    uncommitted.add(8 as CommitToken, 100);
    assert.equal(uncommitted.overLimit, true);
    store.commit(7);
    assert.deepEqual([uncommitted.messages, uncommitted.bytes], [1, 100]);
    assert.equal(relieved, 1);
    // a failed commit is not waited for any more either
    store.commit(8, false);
    assert.deepEqual([uncommitted.messages, uncommitted.bytes], [0, 0]);
    assert.equal(relieved, 1, 'reported on the way down through the limit only');
    uncommitted.add(8 as CommitToken, 100);
    assert.deepEqual(store.waiting, [7, 8, 8], 'a token answered already starts a new group');
  });

  it('a byte limit bounds large bodies', () => {
    const store = manualDurability();
    let relieved = 0;
    const uncommitted = new UncommittedPublishes(store.durability, { messages: 1000, bytes: 2_000_000 }, () => relieved++);
    uncommitted.add(1 as CommitToken, 1_000_000);
    uncommitted.add(1 as CommitToken, 1_000_000);
    assert.equal(uncommitted.overLimit, false);
    uncommitted.add(2 as CommitToken, 1);
    assert.equal(uncommitted.overLimit, true, 'two messages, over on bytes');
    store.commit(1);
    assert.equal(uncommitted.overLimit, false);
    assert.equal(relieved, 1);
  });

  it('with both limits 0 counts nothing', () => {
    const store = manualDurability();
    const uncommitted = new UncommittedPublishes(store.durability, { messages: 0, bytes: 0 }, () => undefined);
    uncommitted.add(5 as CommitToken, 1_000_000);
    assert.deepEqual([uncommitted.messages, uncommitted.bytes], [0, 0]);
    assert.equal(uncommitted.overLimit, false);
    assert.deepEqual(store.waiting, []);
  });
});

describe('a publisher that never waits for its confirms', () => {
  it('is not read while its uncommitted publishes are over the limit (state flow); every publish is confirmed', async () => {
    const app: TestApp = await startTestApp({ AMQP_FLOW_UNCOMMITTED_MESSAGES: String(LIMIT_MESSAGES), STORE_SYNC: 'full' });
    cleanups.push(() => app.close());
    const conn = await connect(app.amqpUrl);
    cleanups.push(() => closeQuietly(conn));
    const ch = await confirmChannel(conn);
    await ch.assertQueue('flow-q', { durable: true });
    const session = () => app.broker.sessions.list().find((s) => s.door === 'amqp' && s.state !== 'closed');

    let maxUncommitted = 0;
    let flowSeen = false;
    let sampling = true;
    const sample = (): void => {
      const s = session();
      if (s !== undefined) {
        maxUncommitted = Math.max(maxUncommitted, Number(s.details.uncommittedMessages ?? 0));
        if (s.state === 'flow') flowSeen = true;
      }
      if (sampling) setImmediate(sample);
    };
    sample();

    const total = 20_000;
    let confirmed = 0;
    let nacked = 0;
    // everything handed to the client at once: amqplib buffers what the socket does not take yet
    for (let n = 1; n <= total; n++) {
      ch.publish('', 'flow-q', numbered(n), { persistent: true }, (err) => {
        if (err) nacked++;
        else confirmed++;
      });
    }
    const management = new ManagementClient(app.managementUrl);
    let apiState = '';
    for (let i = 0; i < 200 && apiState !== 'flow' && confirmed + nacked < total; i++) {
      const connections = await management.get<{ state: string }[]>('/api/connections');
      apiState = connections[0]?.state ?? '';
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await withTimeout(ch.waitForConfirms(), 120_000, 'every confirm');
    sampling = false;

    assert.equal(nacked, 0, 'nothing refused');
    assert.equal(confirmed, total);
    assert.ok(flowSeen, 'the connection was paused for its uncommitted publishes');
    assert.equal(apiState, 'flow', 'the management API shows the connection in flow');
    // over the limit by at most what one socket read (256 KB) held when the pause came: ~240
    // of these messages
    const slack = 300;
    assert.ok(maxUncommitted > 0, 'uncommitted publishes were counted');
    assert.ok(maxUncommitted <= LIMIT_MESSAGES + slack, `uncommitted publishes stayed bounded: at most ${maxUncommitted}`);
    const check = await channel(conn);
    const bodies = await drain(check, 'flow-q');
    assert.equal(bodies.length, total);
    assert.ok(bodies.every((text, i) => numberOf(text) === i + 1), 'in publish order');
  });

  it('kill -9 while it publishes: every confirmed message survives, in order', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const start = (port: number): Promise<BrokerProcess> => startAmqpBrokerProcess(dir.path, port, cleanups, { AMQP_FLOW_UNCOMMITTED_MESSAGES: String(LIMIT_MESSAGES) });
    const port = await freePort();
    const proc = await start(port);
    const conn = await connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await confirmChannel(conn);
    await ch.assertQueue('flow-crash-q', { durable: true });

    const killAfter = 5_000 + Math.floor(Math.random() * 5_000);
    let confirmedUpTo = 0;
    let published = 0;
    let killed = false;
    const outOfOrder: number[] = [];
    const killedAt = new Promise<void>((resolve) => {
      const publishSome = (): void => {
        if (killed) return;
        // never waits for a confirm, nor for the client's buffer to drain; only keeps the
        // client's own memory in check (the broker holds LIMIT_MESSAGES and one read's worth)
        if (published - confirmedUpTo > 50_000) {
          setTimeout(publishSome, 1);
          return;
        }
        for (let k = 0; k < 500; k++) {
          const n = ++published;
          ch.publish('', 'flow-crash-q', numbered(n), { persistent: true }, (err) => {
            if (err || killed) return;
            if (n !== confirmedUpTo + 1) outOfOrder.push(n);
            confirmedUpTo = Math.max(confirmedUpTo, n);
            if (confirmedUpTo >= killAfter) {
              killed = true;
              proc.child.kill('SIGKILL');
              resolve();
            }
          });
        }
        setImmediate(publishSome);
      };
      publishSome();
    });
    await withTimeout(killedAt, 120_000, `${killAfter} confirms before the kill`);
    const confirmedAtKill = confirmedUpTo;
    await proc.exited;
    await closeQuietly(conn, 2000);
    assert.deepEqual(outOfOrder, [], 'confirms arrived in publish order');
    assert.ok(published > confirmedAtKill + 1000, `the client was far ahead of its confirms (${published} published, ${confirmedAtKill} confirmed)`);

    const port2 = await freePort();
    const proc2 = await start(port2);
    const conn2 = await connect(`amqp://guest:guest@127.0.0.1:${port2}`);
    try {
      const check = await channel(conn2);
      const numbers = (await drain(check, 'flow-crash-q')).map(numberOf);
      assert.ok(numbers.length >= confirmedAtKill, `${numbers.length} recovered, ${confirmedAtKill} were confirmed`);
      assert.ok(
        numbers.slice(0, confirmedAtKill).every((n, i) => n === i + 1),
        'every confirmed message, in order',
      );
      assert.ok(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!), 'no duplicates, in order');
    } finally {
      await closeQuietly(conn2);
      proc2.child.kill('SIGTERM');
      await withTimeout(proc2.exited, 30_000, 'broker exit on SIGTERM');
    }
  });
});
