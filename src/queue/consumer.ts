// The long-running consumer: deliveries are gathered into batches (so the
// caller commits them with one push), and each is acked, requeued or
// dead-lettered only after the caller decided. A lost connection is
// re-established with backoff; what was in hand then is redelivered by the
// broker, so nothing is ever settled on a dead channel.
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { brokerAddress, closeQuietly, confirmedSender, deadQueueOf, declareQueue, oneLine, openConnection, type QueueLog } from './connection.js';
import { toDelivery, type Delivery, type Verdict } from './message.js';
import { settleBatch, tryNack, type InHand, type Link } from './settle.js';

export interface ConsumerOptions {
  url: string;
  queue: string;
  /** Messages in hand at once; also the largest batch. */
  prefetch: number;
  log: QueueLog;
  /** One verdict per delivery, same order. A throw requeues the whole batch. */
  onBatch(deliveries: readonly Delivery[]): Promise<Verdict[]>;
  /** How long the first message of a batch waits for company [50 ms]. */
  lingerMs?: number;
  /** Pause before requeuing, so a failing push does not spin [1000 ms]. */
  requeueDelayMs?: number;
  /** Reconnect backoff: 100 ms doubling up to this [5000 ms]. */
  maxBackoffMs?: number;
}

export interface ConsumerStats {
  received: number;
  acked: number;
  requeued: number;
  deadLettered: number;
  reconnects: number;
  inHand: number;
  connected: boolean;
}

export interface Consumer {
  /** Cancel the subscription, finish the batch in hand, release the rest, close. */
  stop(): Promise<void>;
  stats(): ConsumerStats;
}

/** Connects at once: a broker that is down at start is a TransientError. */
export async function createConsumer(options: ConsumerOptions): Promise<Consumer> {
  const { url, queue, prefetch, onBatch } = options;
  const lingerMs = options.lingerMs ?? 50;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const log = options.log.child({ component: 'queue-consumer', queue, broker: brokerAddress(url) });
  const counts = { received: 0, acked: 0, requeued: 0, deadLettered: 0, reconnects: 0 };

  let link: Link | undefined;
  let pending: InHand[] = [];
  let batchSize = 0;
  let running: Promise<void> | undefined;
  let lingering: NodeJS.Timeout | undefined;
  let reconnecting: Promise<void> | undefined;
  let stopping = false;
  const wakers = new Set<() => void>();
  const nap = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });

  const schedule = (): void => {
    if (running || stopping || pending.length === 0) return;
    if (pending.length >= prefetch) return runBatch();
    lingering ??= setTimeout(runBatch, lingerMs);
  };
  const runBatch = (): void => {
    clearTimeout(lingering);
    lingering = undefined;
    const batch = pending.filter((h) => h.link.alive);
    pending = [];
    if (running || batch.length === 0) return;
    batchSize = batch.length;
    running = handle(batch).finally(() => {
      running = undefined;
      batchSize = 0;
      schedule();
    });
  };
  const handle = async (batch: InHand[]): Promise<void> => {
    let verdicts: Verdict[];
    try {
      verdicts = await onBatch(batch.map((h) => h.delivery));
      if (verdicts.length !== batch.length) throw new Error(`${verdicts.length} verdicts for ${batch.length} deliveries`);
    } catch (error) {
      log.error({ err: oneLine(error), messageIds: batch.map((h) => h.delivery.messageId) }, 'batch handler failed; requeuing the batch');
      verdicts = batch.map(() => ({ action: 'requeue' }) as const);
    }
    const delay = stopping ? 0 : (options.requeueDelayMs ?? 1000);
    const done = await settleBatch(batch, verdicts, { queue, log, requeueDelay: () => nap(delay) });
    counts.acked += done.acked;
    counts.requeued += done.requeued;
    counts.deadLettered += done.deadLettered;
  };

  const onMessage = (owner: Link, raw: ConsumeMessage | null): void => {
    if (raw === null) return lost(owner, 'the broker cancelled the subscription (queue deleted?)');
    counts.received++;
    const { delivery, headerProblem } = toDelivery(raw);
    if (headerProblem) log.warn({ messageId: delivery.messageId, problem: headerProblem }, 'ignoring malformed headers');
    log.debug({ messageId: delivery.messageId, profile: delivery.profile, redelivered: delivery.redelivered }, 'received');
    pending.push({ delivery, raw, link: owner });
    schedule();
  };

  const lost = (owner: Link, why: string): void => {
    if (!owner.alive) return;
    owner.alive = false;
    const dropped = pending.filter((h) => h.link === owner).length;
    pending = pending.filter((h) => h.link !== owner);
    owner.connection.close().catch(() => undefined);
    if (stopping || link !== owner) return;
    link = undefined;
    log.warn({ reason: why, dropped, inBatch: batchSize }, 'lost the broker; messages in hand will be redelivered');
    reconnect();
  };

  const openLink = async (): Promise<Link> => {
    const connection: ChannelModel = await openConnection(url, 'consumer', log);
    let channel: ConfirmChannel;
    try {
      channel = await connection.createConfirmChannel();
      await declareQueue(channel, queue);
      await declareQueue(channel, deadQueueOf(queue));
      await channel.prefetch(prefetch);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    const owner: Link = { connection, channel, send: confirmedSender(channel), alive: true };
    connection.on('close', () => lost(owner, 'connection closed'));
    channel.on('close', () => lost(owner, 'channel closed'));
    channel.on('error', (error: Error) => log.warn({ err: oneLine(error) }, 'channel error'));
    try {
      owner.consumerTag = (await channel.consume(queue, (raw) => onMessage(owner, raw), { noAck: false })).consumerTag;
    } catch (error) {
      lost(owner, 'consume refused');
      throw error;
    }
    link = owner; // only now may its loss start a reconnect: a failed first open is the caller's error
    log.info({ prefetch }, 'consuming');
    return owner;
  };

  const reconnect = (): void => {
    if (reconnecting || stopping) return;
    reconnecting = (async () => {
      for (let attempt = 1; !stopping; attempt++) {
        const delay = Math.min(maxBackoffMs, 100 * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
        await nap(delay);
        if (stopping) return;
        try {
          const fresh = await openLink();
          if (stopping) return void (await closeQuietly(fresh.connection, fresh.channel));
          counts.reconnects++;
          log.info({ attempt }, 'reconnected');
          return;
        } catch (error) {
          log.warn({ attempt, err: oneLine(error) }, 'reconnect failed');
        }
      }
    })().finally(() => {
      reconnecting = undefined;
    });
  };

  await openLink();
  return {
    stats: () => ({ ...counts, inHand: pending.length + batchSize, connected: link?.alive ?? false }),
    async stop() {
      if (stopping) return;
      stopping = true;
      clearTimeout(lingering);
      for (const wake of [...wakers]) wake();
      const current = link;
      if (current?.alive && current.consumerTag) await current.channel.cancel(current.consumerTag).catch(() => undefined);
      await running;
      await reconnecting;
      // Not yet handed to the caller: give them back now rather than on close.
      for (const h of pending) if (h.link.alive) tryNack(h);
      const released = pending.length;
      pending = [];
      if (link) await closeQuietly(link.connection, link.channel);
      link = undefined;
      log.info({ released, ...counts }, 'consumer stopped');
    },
  };
}
