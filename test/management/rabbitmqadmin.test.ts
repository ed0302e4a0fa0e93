/**
 * RabbitMQ's own CLI, rabbitmqadmin (the Python script its management plugin serves), against our
 * management API. We do not ship it: the test runs when it is installed (Debian's rabbitmq-server
 * puts it at /usr/bin/rabbitmqadmin; RABBITMQADMIN=path names another copy) and says it skipped
 * otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import amqp from 'amqplib';
import { startTestApp } from '../support/app-harness';

const SCRIPT = process.env.RABBITMQADMIN ?? '/usr/bin/rabbitmqadmin';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

test('rabbitmqadmin: show overview, declare, publish, get, list queues/exchanges/connections, delete', { skip: existsSync(SCRIPT) ? false : `rabbitmqadmin not found at ${SCRIPT}` }, async () => {
  const app = await startTestApp();
  const port = new URL(app.managementUrl).port;
  // asynchronously: the broker answers from this very process
  const run = promisify(execFile);
  const admin = async (...args: string[]): Promise<string> =>
    (await run(PYTHON, [SCRIPT, '-H', '127.0.0.1', '-P', port, '-u', 'guest', '-p', 'guest', ...args], { encoding: 'utf8', timeout: 20_000 })).stdout;
  const conn = await amqp.connect(app.amqpUrl, { clientProperties: { connection_name: 'admin-cli-test' } });
  try {
    assert.match(await admin('show', 'overview'), /rabbitmq_version/);
    assert.match(await admin('declare', 'queue', 'name=cli-q', 'durable=true'), /queue declared/);
    assert.match(await admin('publish', 'routing_key=cli-q', 'payload=from the cli'), /Message published/);
    assert.match(await admin('list', 'queues', 'name', 'messages'), /cli-q\s+\|\s+1\s+\|/);
    assert.match(await admin('get', 'queue=cli-q', 'ackmode=ack_requeue_false'), /from the cli/);
    assert.match(await admin('list', 'queues', 'name', 'messages'), /cli-q\s+\|\s+0\s+\|/);
    assert.match(await admin('list', 'exchanges'), /amq\.topic/);
    assert.match(await admin('-f', 'tsv', 'list', 'connections', 'user', 'client_properties.connection_name'), /guest\tadmin-cli-test/);
    assert.match(await admin('delete', 'queue', 'name=cli-q'), /queue deleted/);
    assert.doesNotMatch(await admin('list', 'queues', 'name'), /cli-q/);
  } finally {
    await conn.close();
    await app.close();
  }
});
