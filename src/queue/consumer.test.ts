import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { sharedRabbit } from '../../test/support/rabbit.js';
import { silentLogger } from '../shared/log.js';
import { createConsumer, createPublisher, type Delivery, type Verdict } from './index.js';

const log = silentLogger();
let broker: Awaited<ReturnType<typeof sharedRabbit>>;
before(async () => {
  broker = await sharedRabbit();
});
after(() => broker.release());
const uniqueQueue = (what: string): string => `test-${what}-${randomUUID().slice(0, 8)}`;
const ack = (batch: readonly Delivery[]): Verdict[] => batch.map(() => ({ action: 'ack' }));

async function fill(queue: string, count: number): Promise<string[]> {
  const publisher = await createPublisher({ url: broker.url, queue, log });
  const ids = Array.from({ length: count }, (_, n) => `msg-${n}`);
  await Promise.all(ids.map((messageId) => publisher.publish({ body: `{"n":"${messageId}"}`, messageId, headers: {} })));
  await publisher.close();
  return ids;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function readyCount(queue: string): Promise<number> {
  const connection = await connect(broker.url);
  try {
    return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

test('messages in hand are handed over in batches of at most prefetch', async () => {
  const queue = uniqueQueue('batches');
  const ids = await fill(queue, 25);
  const sizes: number[] = [];
  const seen: string[] = [];
  const consumer = await createConsumer({
    url: broker.url, queue, prefetch: 10, log,
    onBatch: async (batch) => {
      sizes.push(batch.length);
      seen.push(...batch.map((d) => d.messageId));
      return ack(batch);
    },
  });
  await until(() => seen.length >= 25, 'all messages');
  await consumer.stop();
  assert.deepEqual([...seen].sort(), [...ids].sort());
  assert.ok(sizes.every((size) => size <= 10), `batch sizes ${sizes.join(',')}`);
  assert.ok(sizes.length <= 5, `few batches, got ${sizes.join(',')}`);
  assert.equal(sizes[0], 10, 'a full prefetch goes out without waiting for the linger');
  assert.deepEqual({ ...consumer.stats(), connected: undefined }, {
    received: 25, acked: 25, requeued: 0, deadLettered: 0, reconnects: 0, inHand: 0, connected: undefined,
  });
  assert.equal(await readyCount(queue), 0);
});

test('a requeued message comes back marked redelivered; a throwing handler requeues its batch', async () => {
  const queue = uniqueQueue('requeue');
  await fill(queue, 2);
  const calls: Array<Array<[string, boolean]>> = [];
  const consumer = await createConsumer({
    url: broker.url, queue, prefetch: 10, log, requeueDelayMs: 20,
    onBatch: async (batch) => {
      calls.push(batch.map((d) => [d.messageId, d.redelivered]));
      if (calls.length === 1) return batch.map((d) => (d.messageId === 'msg-0' ? { action: 'requeue' } : { action: 'ack' }));
      if (calls.length === 2) throw new Error('push failed');
      return ack(batch);
    },
  });
  await until(() => consumer.stats().acked === 2, 'both acked');
  await consumer.stop();
  assert.deepEqual(calls, [
    [['msg-0', false], ['msg-1', false]],
    [['msg-0', true]],
    [['msg-0', true]],
  ]);
  assert.equal(consumer.stats().requeued, 2);
  assert.equal(await readyCount(queue), 0);
});

test('stop() cancels, lets the batch in hand finish and settle, and leaves the rest in the queue', async () => {
  const queue = uniqueQueue('drain');
  await fill(queue, 12);
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  const handled: string[] = [];
  const consumer = await createConsumer({
    url: broker.url, queue, prefetch: 5, log,
    onBatch: async (batch) => {
      entered();
      await new Promise((resolve) => setTimeout(resolve, 300)); // a slow commit + push
      handled.push(...batch.map((d) => d.messageId));
      return ack(batch);
    },
  });
  await inHandler;
  const started = Date.now();
  await consumer.stop();
  assert.ok(Date.now() - started >= 200, 'stop waited for the batch');
  assert.equal(handled.length, 5, 'the batch in hand finished');
  assert.equal(consumer.stats().acked, 5, 'and was acked before the close');
  assert.equal(await readyCount(queue), 7, 'everything else is back in the queue');
});

test('onBatch returning the wrong number of verdicts requeues the batch instead of guessing', async () => {
  const queue = uniqueQueue('verdicts');
  await fill(queue, 1);
  let calls = 0;
  const consumer = await createConsumer({
    url: broker.url, queue, prefetch: 5, log, requeueDelayMs: 10,
    onBatch: async (batch) => (++calls === 1 ? [] : ack(batch)),
  });
  await until(() => consumer.stats().acked === 1, 'acked on the second try');
  await consumer.stop();
  assert.equal(consumer.stats().requeued, 1);
});
