// Carry out the caller's verdicts for one batch. A dead letter is acked only
// once the dead-letter queue confirmed its copy; nothing is settled on a
// channel that died (the broker redelivers those messages by itself).
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { deadQueueOf, oneLine, type confirmedSender, type QueueLog } from './connection.js';
import { deadLetterProperties, type Delivery, type Verdict } from './message.js';

export interface Link {
  connection: ChannelModel;
  channel: ConfirmChannel;
  send: ReturnType<typeof confirmedSender>;
  alive: boolean;
  consumerTag?: string;
}

export interface InHand {
  delivery: Delivery;
  raw: ConsumeMessage;
  link: Link;
}

export interface Settled {
  acked: number;
  requeued: number;
  deadLettered: number;
}

interface SettleContext {
  queue: string;
  log: QueueLog;
  /** Awaited before requeuing anything. */
  requeueDelay(): Promise<void>;
}

export async function settleBatch(batch: InHand[], verdicts: Verdict[], { queue, log, requeueDelay }: SettleContext): Promise<Settled> {
  const settled: Settled = { acked: 0, requeued: 0, deadLettered: 0 };
  const toAck: InHand[] = [];
  const toRequeue: InHand[] = [];
  const deadLetters: Promise<void>[] = [];

  batch.forEach((held, index) => {
    const verdict = verdicts[index] ?? { action: 'requeue' };
    if (verdict.action === 'ack') toAck.push(held);
    else if (verdict.action === 'requeue') toRequeue.push(held);
    else deadLetters.push(deadLetter(held, verdict.reason, verdict.profile));
  });

  async function deadLetter(held: InHand, reason: string, profile: string | undefined): Promise<void> {
    const { messageId } = held.delivery;
    const who = profile ?? held.delivery.profile;
    if (!held.link.alive) return void notSettled(held, log);
    try {
      await held.link.send(deadQueueOf(queue), held.raw.content, deadLetterProperties(held.raw, messageId, reason, who));
    } catch (error) {
      log.error({ messageId, profile: who, err: oneLine(error) }, 'dead-letter publish failed; requeuing');
      toRequeue.push(held);
      return;
    }
    if (ack(held)) {
      settled.deadLettered++;
      log.warn({ messageId, profile: who, reason }, 'dead-lettered');
    }
  }

  const ack = (held: InHand): boolean => {
    if (!held.link.alive) return notSettled(held, log);
    try {
      held.link.channel.ack(held.raw);
      return true;
    } catch {
      return notSettled(held, log);
    }
  };

  for (const held of toAck) {
    if (ack(held)) {
      settled.acked++;
      log.info({ messageId: held.delivery.messageId, profile: held.delivery.profile }, 'acked');
    }
  }
  await Promise.all(deadLetters);

  if (toRequeue.length > 0) {
    await requeueDelay();
    for (const held of toRequeue) {
      if (!held.link.alive) notSettled(held, log);
      else if (tryNack(held)) {
        settled.requeued++;
        log.info({ messageId: held.delivery.messageId, profile: held.delivery.profile }, 'requeued');
      }
    }
  }
  return settled;
}

/** Give a message back to the queue; false if its channel is already gone. */
export function tryNack(held: InHand): boolean {
  try {
    held.link.channel.nack(held.raw, false, true);
    return true;
  } catch {
    return false;
  }
}

function notSettled(held: InHand, log: QueueLog): false {
  log.warn({ messageId: held.delivery.messageId, profile: held.delivery.profile }, 'connection lost before settling; the broker will redeliver');
  return false;
}
