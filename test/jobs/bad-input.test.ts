/** The HTTP doors under bad input: lone surrogates in names, trickled bodies, huge Content-Lengths. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startTestApp } from '../support/app-harness';
import { JobsClient } from '../support/jobs-client';
import { tempDir } from '../support/temp-dir';

test('a lane named with a lone surrogate is the same lane after a restart', async () => {
  const dir = tempDir();
  let app = await startTestApp({}, dir.path);
  try {
    let client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    // "\ud800" is valid JSON; dispenserd's decoder (Go) reads it as U+FFFD
    const body = '{"message":"kept","lane":"\\ud800"}';
    assert.equal((await client.send('/schedule', body)).json.code, 0);
    client.close();
    await app.stop();
    app = await startTestApp({}, dir.path);
    client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    const got = await client.send('/receive_noblock', '{"lane":"\\ud800"}');
    assert.equal(got.json.message, 'kept', JSON.stringify(got.json));
    const alsoU = await client.send('/receive_noblock', '{"lane":"\\ufffd"}');
    assert.equal(alsoU.json.code, 2, 'U+FFFD names the same, now empty, lane');
    client.close();
  } finally {
    await app.close();
    dir.cleanup();
  }
});

/** Opens a raw connection, sends `head`, then one byte every `everyMs`; resolves with what came back when the server closed it. */
function trickle(port: number, head: string, everyMs: number, giveUpMs: number): Promise<{ closedAfterMs: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => socket.writable && socket.write('x'), everyMs);
    });
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, answer });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`still open after ${giveUpMs} ms; got ${JSON.stringify(answer)}`));
    }, giveUpMs);
  });
}

test('a client trickling its body is dropped at the request timeout; a huge Content-Length gets 413 at once', async () => {
  const app = await startTestApp({ HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '500' });
  try {
    for (const port of [app.running.ports.jobs, app.running.ports.dispatch]) {
      const dripping = await trickle(port, 'POST /schedule HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n', 200, 10_000);
      assert.ok(dripping.closedAfterMs >= 900 && dripping.closedAfterMs < 5000, `dropped after ${dripping.closedAfterMs} ms`);
      const headers = await trickle(port, 'POST /schedule HTTP/1.1\r\nHost: x\r\n', 200, 10_000);
      assert.ok(headers.closedAfterMs < 5000, `headers never finished: dropped after ${headers.closedAfterMs} ms`);
      const huge = await trickle(port, 'POST /schedule HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n', 50, 5000);
      assert.match(huge.answer, /^HTTP\/1\.1 413 /, `${port}: ${huge.answer.slice(0, 80)}`);
      assert.match(huge.answer, /connection: close/i);
      assert.ok(huge.closedAfterMs < 1000, `answered and closed after ${huge.closedAfterMs} ms, not after reading 100 GB`);
    }
    // the doors still work
    const client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    assert.equal((await client.schedule('after the abuse')).json.code, 0);
    client.close();
  } finally {
    await app.close();
  }
});
