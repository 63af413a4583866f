import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { sharedRabbit } from '../../test/support/rabbit.js';
import { sha256 } from '../shared/digest.js';
import { silentLogger } from '../shared/log.js';
import { createConsumer, createPublisher, deadQueueOf, HEADER, listDeadLetters, replayDeadLetters, type Verdict } from './index.js';

const log = silentLogger();
let broker: Awaited<ReturnType<typeof sharedRabbit>>;
before(async () => {
  broker = await sharedRabbit();
});
after(() => broker.release());
const uniqueQueue = (what: string): string => `test-${what}-${randomUUID().slice(0, 8)}`;

async function counts(queue: string): Promise<{ ready: number; dead: number }> {
  const connection = await connect(broker.url);
  try {
    const channel = await connection.createChannel();
    return { ready: (await channel.checkQueue(queue)).messageCount, dead: (await channel.checkQueue(deadQueueOf(queue))).messageCount };
  } finally {
    await connection.close();
  }
}

/** Consume once, deciding by message id; resolves when `expected` messages were settled. */
async function consumeOnce(queue: string, decide: (id: string) => Verdict, expected: number): Promise<void> {
  const consumer = await createConsumer({
    url: broker.url, queue, prefetch: 10, log,
    onBatch: async (batch) => batch.map((d) => decide(d.messageId)),
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = consumer.stats();
    if (s.acked + s.deadLettered >= expected) break;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await consumer.stop();
}

test('dead letters keep their headers, gain the reason and profile, can be listed, then replayed', async () => {
  const queue = uniqueQueue('dlq');
  const publisher = await createPublisher({ url: broker.url, queue, log });
  await publisher.publish({ body: 'not json', messageId: 'bad-1', headers: { [HEADER.profile]: 'web1.example.org' } });
  await publisher.publish({ body: '{}', messageId: 'good-1', headers: {} });
  await publisher.publish({ body: '{"os":"?"}', messageId: 'bad-2', headers: { [HEADER.profile]: 'web2.example.org' } });
  await publisher.close();

  await consumeOnce(queue, (id) => (id.startsWith('bad')
    ? { action: 'dead-letter', reason: id === 'bad-1' ? 'not JSON' : 'unknown source image sl7x-x86_64', profile: id === 'bad-1' ? 'web1' : 'web2' }
    : { action: 'ack' }), 3);
  assert.deepEqual(await counts(queue), { ready: 0, dead: 2 });

  const listed = await listDeadLetters({ url: broker.url, queue, limit: 10 });
  assert.equal(listed.total, 2);
  assert.deepEqual(listed.letters.map((l) => [l.messageId, l.reason, l.profile, l.body.toString()]), [
    ['bad-1', 'not JSON', 'web1', 'not json'],
    ['bad-2', 'unknown source image sl7x-x86_64', 'web2', '{"os":"?"}'],
  ]);
  assert.equal(listed.letters[0]?.headers[HEADER.profile], 'web1.example.org', 'original headers kept');
  assert.ok(!Number.isNaN(Date.parse(listed.letters[0]?.deadLetteredAt ?? '')), 'dead-lettered-at is a time');
  assert.equal((await listDeadLetters({ url: broker.url, queue, limit: 1 })).letters.length, 1, 'limit applies');
  assert.deepEqual(await counts(queue), { ready: 0, dead: 2 }, 'listing consumed nothing');

  const some = await replayDeadLetters({ url: broker.url, queue, filter: (l) => l.messageId === 'bad-2' });
  assert.deepEqual([some.replayed.map((l) => l.messageId), some.kept], [['bad-2'], 1]);
  assert.deepEqual(await counts(queue), { ready: 1, dead: 1 });
  const rest = await replayDeadLetters({ url: broker.url, queue });
  assert.deepEqual([rest.replayed.map((l) => l.messageId), rest.kept], [['bad-1'], 0]);
  assert.deepEqual(await counts(queue), { ready: 2, dead: 0 });

  // Back in the main queue: original properties and headers, no x-packuilon-* bookkeeping.
  const connection = await connect(broker.url);
  const channel = await connection.createChannel();
  const replayed = await channel.get(queue, { noAck: true });
  await connection.close();
  assert.ok(replayed);
  assert.equal(replayed.properties.messageId, 'bad-2');
  assert.equal(replayed.properties.deliveryMode, 2);
  assert.equal(replayed.properties.contentType, 'application/json');
  assert.deepEqual(replayed.properties.headers, { [HEADER.profile]: 'web2.example.org' });
});

test("a seed message (no id) is dead-lettered under its derived id; replay does not loop on re-dead-lettered letters", async () => {
  const queue = uniqueQueue('dlq-seed');
  const connection = await connect(broker.url);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  channel.sendToQueue(queue, Buffer.from('garbage'), { deliveryMode: 2 });
  await channel.waitForConfirms();
  await connection.close();
  const id = sha256('garbage');

  await consumeOnce(queue, () => ({ action: 'dead-letter', reason: 'not JSON' }), 1);
  const [letter] = (await listDeadLetters({ url: broker.url, queue, limit: 5 })).letters;
  assert.equal(letter?.messageId, id);
  assert.equal(letter?.profile, undefined, 'no profile known, no header');

  // A consumer that dead-letters everything again while the replay runs.
  const poisoned = await createConsumer({
    url: broker.url, queue, prefetch: 10, log,
    onBatch: async (batch) => batch.map(() => ({ action: 'dead-letter', reason: 'still not JSON' })),
  });
  const result = await replayDeadLetters({ url: broker.url, queue });
  assert.equal(result.replayed.length, 1, 'each letter present at the start is replayed once');
  await new Promise((resolve) => setTimeout(resolve, 200));
  await poisoned.stop();
  const after = await listDeadLetters({ url: broker.url, queue, limit: 5 });
  assert.deepEqual(after.letters.map((l) => [l.messageId, l.reason]), [[id, 'still not JSON']]);
});
