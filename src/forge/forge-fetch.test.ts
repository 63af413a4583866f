import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeServer, type FakeServer } from '../../test/support/fake-http.js';
import { createForgeFetch } from './forge-fetch.js';

let server: FakeServer;
before(async () => {
  server = await startFakeServer(() => ({ status: 200, body: { ok: true } }));
});
after(() => server.close());

const waitsOf = async (reply: Parameters<FakeServer['failNext']>[2], times: number, maxWaitMs = 60_000) => {
  const waits: number[] = [];
  const forgeFetch = createForgeFetch({ backoffMs: 100, retries: 3, maxWaitMs, sleep: async (ms) => void waits.push(ms) });
  server.failNext('GET', /^\/x$/, reply, times);
  const response = await forgeFetch(`${server.url}/x`);
  return { waits, status: response.status };
};

test('Retry-After in seconds is honoured', async () => {
  const { waits, status } = await waitsOf({ status: 429, headers: { 'retry-after': '7' } }, 1);
  assert.deepEqual(waits, [7000]);
  assert.equal(status, 200);
});

test('Retry-After as an HTTP date is honoured', async () => {
  const at = new Date(Date.now() + 3000).toUTCString();
  const { waits } = await waitsOf({ status: 503, headers: { 'retry-after': at } }, 1);
  assert.equal(waits.length, 1);
  assert.ok(waits[0]! > 1000 && waits[0]! <= 3000, String(waits[0]));
});

test('5xx without Retry-After backs off exponentially, then gives the last answer', async () => {
  // retries: 3 → four calls, all failing.
  const { waits, status } = await waitsOf({ status: 500, body: { message: '500 Internal Server Error' } }, 4);
  assert.deepEqual(waits, [100, 200, 400]);
  assert.equal(status, 500);
});

test("GitHub's rate limit (403 + x-ratelimit-remaining: 0) waits for the reset; a plain 403 is final", async () => {
  const reset = String(Math.ceil(Date.now() / 1000) + 2);
  const limited = await waitsOf({ status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset } }, 1);
  assert.equal(limited.waits.length, 1);
  assert.equal(limited.status, 200);
  const refused = await waitsOf({ status: 403, body: { message: '403 Forbidden' } }, 1);
  assert.deepEqual(refused.waits, []);
  assert.equal(refused.status, 403);
});

test('a Retry-After longer than the cap is not waited for: the answer comes back at once', async () => {
  const { waits, status } = await waitsOf({ status: 429, headers: { 'retry-after': '3600' } }, 1, 60_000);
  assert.deepEqual(waits, []);
  assert.equal(status, 429);
});

test('a refused connection is retried, then thrown', async () => {
  const waits: number[] = [];
  const forgeFetch = createForgeFetch({ backoffMs: 1, retries: 2, sleep: async (ms) => void waits.push(ms) });
  await assert.rejects(forgeFetch('http://127.0.0.1:1/'));
  assert.equal(waits.length, 2);
});
