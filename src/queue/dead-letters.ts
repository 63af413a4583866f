// `dlq list` and `dlq replay`: look at `<queue>.dead` without consuming it
// for good, and move letters back to `<queue>` (confirmed before the dead copy
// is acked, so a crash in between duplicates at worst, never loses).
import type { ConfirmChannel, GetMessage } from 'amqplib';
import { brokerAddress, closeQuietly, confirmedSender, deadQueueOf, declareQueue, openConnection, type QueueLog } from './connection.js';
import { replayProperties } from './message.js';
import { HEADER, headersAsText, messageIdOf } from './schema.js';

export interface DeadLetter {
  messageId: string;
  reason?: string;
  profile?: string;
  /** ISO time it was dead-lettered. */
  deadLetteredAt?: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface DeadLetterOptions {
  url: string;
  /** The main queue; its dead letters are in `<queue>.dead`. */
  queue: string;
  log?: QueueLog;
}

export interface ListResult {
  /** Messages in the dead-letter queue, whether listed or not. */
  total: number;
  letters: DeadLetter[];
}

export interface ReplayResult {
  replayed: DeadLetter[];
  /** Letters the filter left in the dead-letter queue. */
  kept: number;
}

/** The first `limit` dead letters, oldest first; all stay in the queue. */
export async function listDeadLetters({ url, queue, limit, log = silentLog }: DeadLetterOptions & { limit: number }): Promise<ListResult> {
  return withDeadQueue(url, queue, log, async ({ total, get }) => {
    const letters: DeadLetter[] = [];
    // Held unacked until the channel closes (then the broker requeues them), so each get sees the next one.
    while (letters.length < limit) {
      const message = await get();
      if (!message) break;
      letters.push(toDeadLetter(message));
    }
    return { total, letters };
  });
}

/**
 * Move dead letters (those `filter` accepts; all without one) back to the queue,
 * without the `x-packuilon-*` headers. Only the letters present at the start are
 * looked at, so a poison message the consumer dead-letters again is not looped.
 */
export async function replayDeadLetters({
  url,
  queue,
  filter = () => true,
  log = silentLog,
}: DeadLetterOptions & { filter?: (letter: DeadLetter) => boolean }): Promise<ReplayResult> {
  const replayLog = log.child({ component: 'queue-dlq', queue, broker: brokerAddress(url) });
  return withDeadQueue(url, queue, replayLog, async ({ total, get, channel, send }) => {
    const replayed: DeadLetter[] = [];
    let kept = 0;
    for (let seen = 0; seen < total; seen++) {
      const message = await get();
      if (!message) break;
      const letter = toDeadLetter(message);
      if (!filter(letter)) {
        kept++; // stays unacked until close: requeued in place, and not fetched again here
        continue;
      }
      await send(queue, message.content, replayProperties(message, letter.messageId));
      channel.ack(message);
      replayed.push(letter);
      replayLog.info({ messageId: letter.messageId, profile: letter.profile, reason: letter.reason }, 'replayed dead letter');
    }
    return { replayed, kept };
  });
}

type DeadQueueSession = {
  total: number;
  get(): Promise<GetMessage | false>;
  channel: ConfirmChannel;
  send: ReturnType<typeof confirmedSender>;
};

async function withDeadQueue<T>(url: string, queue: string, log: QueueLog, work: (session: DeadQueueSession) => Promise<T>): Promise<T> {
  const connection = await openConnection(url, 'dlq', log);
  let channel: ConfirmChannel | undefined;
  try {
    channel = await connection.createConfirmChannel();
    const dead = deadQueueOf(queue);
    await declareQueue(channel, queue);
    await declareQueue(channel, dead);
    const { messageCount: total } = await channel.checkQueue(dead);
    const open = channel;
    return await work({ total, channel: open, send: confirmedSender(open), get: () => open.get(dead, { noAck: false }) });
  } finally {
    await closeQuietly(connection, channel); // the broker requeues whatever is still unacked
  }
}

function toDeadLetter(message: GetMessage): DeadLetter {
  const headers = headersAsText(message.properties.headers);
  const letter: DeadLetter = { messageId: messageIdOf(message.properties.messageId, message.content), headers, body: message.content };
  if (headers[HEADER.deadReason] !== undefined) letter.reason = headers[HEADER.deadReason];
  if (headers[HEADER.deadProfile] !== undefined) letter.profile = headers[HEADER.deadProfile];
  if (headers[HEADER.deadAt] !== undefined) letter.deadLetteredAt = headers[HEADER.deadAt];
  return letter;
}

const silentLog: QueueLog = {
  child: () => silentLog,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
