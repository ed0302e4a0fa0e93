/** The delivery door's pure pieces: backoff, outcome policy, Retry-After, destination rules. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../libs/delivery/src/domain/circuit-breaker';
import { retryAfterMs, verdictOf } from '../../libs/delivery/src/domain/outcome-policy';
import { retryDelayMs } from '../../libs/delivery/src/domain/retry-schedule';
import { DestinationGuard } from '../../libs/delivery/src/sender/destination-guard';

const policy = { baseDelayMs: 2000, maxDelayMs: 3_600_000, maxAttempts: 10, jitter: false };

test("backoff: Dispatcher's 2 s, 4 s, 8 s, 16 s … capped; jitter spreads within [d/2, d]; Retry-After wins within the cap", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n)), [2000, 4000, 8000, 16000, 32000]);
  assert.equal(retryDelayMs(policy, 30), 3_600_000);
  assert.equal(retryDelayMs({ ...policy, jitter: true }, 3, undefined, () => 0), 4000);
  assert.equal(retryDelayMs({ ...policy, jitter: true }, 3, undefined, () => 0.999999), 8000);
  assert.equal(retryDelayMs(policy, 1, 30_000), 30_000);
  assert.equal(retryDelayMs(policy, 3, 1000), 8000, 'a shorter Retry-After does not shorten the backoff');
  assert.equal(retryDelayMs(policy, 1, 86_400_000), 3_600_000, 'Retry-After is capped');
});

test('outcome policy: 2xx delivered; 408/425/429/5xx and transport failures retried; 410 and other 3xx/4xx dead', () => {
  const v = (status: number): string => verdictOf({ status }, false);
  assert.deepEqual([200, 201, 204, 299].map(v), ['delivered', 'delivered', 'delivered', 'delivered']);
  assert.deepEqual([408, 425, 429, 500, 502, 503, 599].map(v), Array(7).fill('retry'));
  assert.deepEqual([301, 302, 400, 401, 403, 404, 410, 422].map(v), Array(8).fill('dead'));
  assert.equal(verdictOf({ error: 'timeout' }, false), 'retry');
  assert.equal(verdictOf({ error: 'refused' }, false), 'retry');
  assert.equal(verdictOf({ error: 'forbidden-destination' }, false), 'dead');
  assert.equal(verdictOf({ status: 500 }, true), 'delivered', "Dispatcher's rule: any answer delivers");
  assert.equal(verdictOf({ error: 'refused' }, true), 'retry');
});

test('Retry-After: delay-seconds or an HTTP date', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  assert.equal(retryAfterMs('120', now), 120_000);
  assert.equal(retryAfterMs('Tue, 01 Dec 2026 12:00:30 GMT', now), 30_000);
  assert.equal(retryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now), 0);
  assert.equal(retryAfterMs('soon', now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
});

test('circuit breaker: opens after N consecutive failures, lets one probe through per interval, closes on success', () => {
  let now = 0;
  const circuit = new CircuitBreaker({ failureThreshold: 3, probeIntervalMs: 1000 }, () => now);
  for (let i = 0; i < 2; i++) circuit.failed('a');
  assert.equal(circuit.admit('a'), true, 'still closed after 2');
  circuit.failed('a');
  assert.equal(circuit.admit('a'), false, 'open after 3');
  assert.equal(circuit.admit('b'), true, 'other hosts are unaffected');
  now = 1000;
  assert.equal(circuit.admit('a'), true, 'the probe');
  assert.equal(circuit.admit('a'), false, 'one probe at a time');
  circuit.failed('a');
  assert.equal(circuit.admit('a'), false, 'a failed probe reopens it');
  now = 2000;
  assert.equal(circuit.admit('a'), true);
  circuit.succeeded('a');
  assert.equal(circuit.admit('a'), true);
  assert.equal(circuit.openCount, 0);
});

test('destination guard: always-refused ranges, the private switch, allow and deny lists, mapped IPv4', () => {
  const noListeners = { reachedBy: () => null };
  const open = new DestinationGuard({ allowLoopback: true, refusePrivate: false, allow: [], deny: [] }, noListeners);
  for (const address of ['169.254.169.254', '0.0.0.0', '224.0.0.1', '255.255.255.255', 'fe80::1', 'ff02::1', '::ffff:169.254.169.254']) {
    assert.notEqual(open.refuseAddress(address), null, address);
  }
  for (const address of ['127.0.0.1', '10.1.2.3', '192.168.1.1', '8.8.8.8', '::1']) assert.equal(open.refuseAddress(address), null, address);
  const strict = new DestinationGuard({ allowLoopback: true, refusePrivate: true, allow: [], deny: ['evil.example', '203.0.113.0/24'] }, noListeners);
  for (const address of ['127.0.0.1', '10.1.2.3', '172.16.5.5', '192.168.1.1', '::1', 'fd00::1', '::ffff:127.0.0.1', '203.0.113.9']) {
    assert.notEqual(strict.refuseAddress(address), null, address);
  }
  assert.equal(strict.refuseAddress('8.8.8.8'), null);
  assert.notEqual(strict.refuseHost('EVIL.example'), null, 'names match case-insensitively');
  assert.equal(strict.refuseHost('good.example'), null, 'names are judged once resolved');
  const allowOnly = new DestinationGuard({ allowLoopback: false, refusePrivate: false, allow: ['hooks.example', '198.51.100.0/24'], deny: [] }, noListeners);
  assert.equal(allowOnly.refuseAddress('198.51.100.7'), null);
  assert.equal(allowOnly.refuseAddress('93.184.216.34', 'hooks.example'), null, 'an allowed name may resolve anywhere permitted');
  assert.notEqual(allowOnly.refuseAddress('93.184.216.34', 'other.example'), null);
});
