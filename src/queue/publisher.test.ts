import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { connect } from 'amqplib';
import { sharedRabbit } from '../../test/support/rabbit.js';
import { TransientError } from '../shared/errors.js';
import { sha256 } from '../shared/digest.js';
import { silentLogger } from '../shared/log.js';
import { createConsumer, createPublisher, deadQueueOf, HEADER, listDeadLetters, type Delivery } from './index.js';

const log = silentLogger();
let broker: Awaited<ReturnType<typeof sharedRabbit>>;
before(async () => {
  broker = await sharedRabbit();
});
after(() => broker.release());
const uniqueQueue = (what: string): string => `test-${what}-${randomUUID().slice(0, 8)}`;

/** Consume until `count` deliveries arrived, acking all. */
async function consumeAll(queue: string, count: number): Promise<Delivery[]> {
  const got: Delivery[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const consumer = await createConsumer({
    url: broker.url,
    queue,
    prefetch: 10,
    log,
    onBatch: async (batch) => {
      got.push(...batch);
      if (got.length >= count) done();
      return batch.map(() => ({ action: 'ack' }) as const);
    },
  });
  await finished;
  await consumer.stop();
  return got;
}

test('publish resolves after the confirm; the message is persistent JSON with its id and headers', async () => {
  const queue = uniqueQueue('publish');
  const publisher = await createPublisher({ url: broker.url, queue, log });
  const headers = { [HEADER.profile]: 'host1.example.org', [HEADER.digest]: sha256('{"a":1}') };
  await publisher.publish({ body: '{"a":1}', messageId: 'host1@sha256:1', headers });
  await publisher.close();

  const connection = await connect(broker.url);
  const channel = await connection.createChannel();
  const message = await channel.get(queue, { noAck: true });
  await connection.close();
  assert.ok(message, 'the confirmed message is in the queue');
  assert.equal(message.content.toString(), '{"a":1}');
  assert.equal(message.properties.deliveryMode, 2);
  assert.equal(message.properties.contentType, 'application/json');
  assert.equal(message.properties.messageId, 'host1@sha256:1');
  assert.deepEqual(message.properties.headers, headers);
});

test('published messages come out of the consumer with their id, headers and profile', async () => {
  const queue = uniqueQueue('roundtrip');
  const publisher = await createPublisher({ url: broker.url, queue, log });
  const digest = sha256('{}');
  await Promise.all(
    [1, 2, 3].map((n) => publisher.publish({ body: '{}', messageId: `m${n}`, headers: { [HEADER.profile]: `p${n}`, [HEADER.digest]: digest } })),
  );
  await publisher.close();
  const got = await consumeAll(queue, 3);
  assert.deepEqual(got.map((d) => [d.messageId, d.profile, d.digest, d.redelivered]).sort(), [
    ['m1', 'p1', digest, false],
    ['m2', 'p2', digest, false],
    ['m3', 'p3', digest, false],
  ]);
});

test("the queue is declared exactly as the seed's queue_declare(durable=True): either may declare first", async () => {
  const connection = await connect(broker.url);
  try {
    // The tool first, then the seed.
    const first = uniqueQueue('compat-a');
    const publisher = await createPublisher({ url: broker.url, queue: first, log });
    const consumer = await createConsumer({ url: broker.url, queue: first, prefetch: 1, log, onBatch: async (b) => b.map(() => ({ action: 'ack' }) as const) });
    const seed = await connection.createChannel();
    await seed.assertQueue(first, { durable: true });
    await seed.assertQueue(deadQueueOf(first), { durable: true });
    await consumer.stop();
    await publisher.close();

    // The seed first, then the tool.
    const second = uniqueQueue('compat-b');
    await seed.assertQueue(second, { durable: true });
    await (await createPublisher({ url: broker.url, queue: second, log })).close();

    // The broker does enforce it: a declare with an argument is refused.
    const strict = await connection.createChannel();
    strict.on('error', () => undefined);
    await assert.rejects(strict.assertQueue(second, { durable: true, arguments: { 'x-message-ttl': 1000 } }), /PRECONDITION_FAILED|406/);
  } finally {
    await connection.close();
  }
});

test("a message from the seed's tools (no headers, no message id) is accepted with a derived id", async () => {
  const queue = uniqueQueue('seed');
  const connection = await connect(broker.url);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  channel.sendToQueue(queue, Buffer.from('{"seed":true}'), { deliveryMode: 2 });
  await channel.waitForConfirms();
  await connection.close();
  const [delivery] = await consumeAll(queue, 1);
  assert.equal(delivery?.messageId, sha256('{"seed":true}'));
  assert.deepEqual(delivery?.headers, {});
  assert.equal(delivery?.profile, undefined);
});

test('a broker that is down is a TransientError at once, naming host:port without the password', async () => {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close(); // nothing listens there now
  const url = `amqp://builder:s3cret-pw@127.0.0.1:${port}/`;
  for (const attempt of [
    () => createPublisher({ url, queue: 'q', log }),
    () => createConsumer({ url, queue: 'q', prefetch: 1, log, onBatch: async () => [] }),
    () => listDeadLetters({ url, queue: 'q', limit: 1 }),
  ]) {
    const started = Date.now();
    const error = await attempt().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof TransientError, `TransientError, got ${String(error)}`);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(error.message, /s3cret/);
    assert.doesNotMatch(error.message, /\n/);
    assert.ok(Date.now() - started < 1000, 'fails fast');
  }
});
