// Broker outages while consuming: a private broker, since these tests restart
// and kill it. Nothing confirmed may be lost; what was in hand is redelivered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRabbit, type Rabbit } from '../../test/support/rabbit.js';
import { createConsumer, createPublisher, type QueueLog } from './index.js';

let rabbit: Rabbit;
before(async () => {
  rabbit = await startRabbit();
});
after(() => rabbit?.stop());

/** Records the consumer's log lines, to see each ack it actually sent. */
function recordingLog(lines: Array<Record<string, unknown>>, bindings: Record<string, unknown> = {}): QueueLog {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ ...bindings, ...obj, level, msg });
  return { child: (more) => recordingLog(lines, { ...bindings, ...more }), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function consumeThrough(queue: string, outage: () => Promise<void>): Promise<void> {
  const total = 300;
  const lines: Array<Record<string, unknown>> = [];
  const publisher = await createPublisher({ url: rabbit.url, queue, log: recordingLog(lines) });
  const ids = Array.from({ length: total }, (_, n) => `${queue}-${n}`);
  await Promise.all(ids.map((messageId) => publisher.publish({ body: '{}', messageId, headers: {} })));

  let outageOver = false;
  const received = new Map<string, number>();
  const redelivered = new Set<string>();
  const consumer = await createConsumer({
    url: rabbit.url, queue, prefetch: 10, log: recordingLog(lines), maxBackoffMs: 500,
    onBatch: async (batch) => {
      for (const d of batch) {
        received.set(d.messageId, (received.get(d.messageId) ?? 0) + 1);
        if (d.redelivered) redelivered.add(d.messageId);
      }
      await sleep(outageOver ? 5 : 100); // render + commit + push; slow only until the outage has struck
      return batch.map(() => ({ action: 'ack' }) as const);
    },
  });
  const ackCount = (): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const line of lines) if (line.msg === 'acked') counts.set(String(line.messageId), (counts.get(String(line.messageId)) ?? 0) + 1);
    return counts;
  };

  await until(() => received.size >= 40, 'consuming to be under way', 10_000);
  await outage();
  outageOver = true;
  await until(() => ackCount().size === total, 'every message acked', 30_000);
  // The publisher reconnects on its next publish too.
  await publisher.publish({ body: '{}', messageId: `${queue}-after`, headers: {} });
  await until(() => ackCount().has(`${queue}-after`), 'the message published after the outage', 10_000);
  await consumer.stop();
  await publisher.close();

  const acks = ackCount();
  assert.deepEqual([...ids, `${queue}-after`].filter((id) => !received.has(id)), [], 'every id consumed');
  const twice = [...acks].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(twice.filter((id) => !redelivered.has(id)), [], 'an id is acked again only after a redelivery');
  assert.ok(redelivered.size > 0, 'the outage caught messages in hand, and they came back');
  assert.ok(consumer.stats().reconnects >= 1);
  assert.match(await rabbit.ctl(['list_queues', 'name', 'messages']), new RegExp(`^${queue}\\s+0$`, 'm'), 'queue empty');
  console.log(`# ${queue}: ${total + 1} messages, ${redelivered.size} redelivered, acked twice: ${twice.length}, reconnects: ${consumer.stats().reconnects}`);
}

test('a broker restart in the middle of consuming loses nothing', async () => {
  await consumeThrough('outage-restart', () => rabbit.restart());
});

test('a broker killed with SIGKILL and started again loses nothing confirmed', async () => {
  await consumeThrough('outage-kill9', async () => {
    await rabbit.kill9();
    await rabbit.restart();
  });
});
