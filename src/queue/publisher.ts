// Publish profile messages; publish() resolves only once the broker confirmed
// the message, so the detector may then advance its state.
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { TransientError } from '../shared/errors.js';
import { HEADER } from './schema.js';
import { brokerAddress, closeQuietly, confirmedSender, declareQueue, openConnection, type QueueLog } from './connection.js';

export interface OutgoingMessage {
  body: Buffer | string;
  messageId: string;
  headers: Record<string, string>;
}

export interface Publisher {
  /** Resolves after the broker's confirm; rejects with TransientError otherwise. */
  publish(message: OutgoingMessage): Promise<void>;
  close(): Promise<void>;
}

export interface PublisherOptions {
  url: string;
  queue: string;
  log: QueueLog;
}

interface Session {
  connection: ChannelModel;
  channel: ConfirmChannel;
  send: ReturnType<typeof confirmedSender>;
  lost: boolean;
}

/**
 * Connects at once (a broker that is down is a TransientError here), and again
 * on the next publish after a lost connection or channel: `watch` lives through broker restarts.
 */
export async function createPublisher({ url, queue, log: parentLog }: PublisherOptions): Promise<Publisher> {
  const log = parentLog.child({ component: 'queue-publisher', queue, broker: brokerAddress(url) });
  let session: Promise<Session> | undefined;
  let latest: Session | undefined;
  let closed = false;

  const open = async (): Promise<Session> => {
    const connection = await openConnection(url, 'publisher', log);
    try {
      const channel = await connection.createConfirmChannel();
      await declareQueue(channel, queue);
      const opened: Session = { connection, channel, send: confirmedSender(channel), lost: false };
      const lose = (): void => {
        if (opened.lost) return;
        opened.lost = true;
        connection.close().catch(() => undefined);
        if (!closed) log.warn({}, 'broker connection lost; reconnecting on the next publish');
      };
      connection.on('close', lose);
      channel.on('close', lose);
      return opened;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw new TransientError(`RabbitMQ at ${brokerAddress(url)}: cannot declare queue ${queue}: ${(error as Error).message}`);
    }
  };
  // One connection at a time, shared by concurrent publishes; a new one only once it is lost.
  const current = (): Promise<Session> => {
    if (!session || latest?.lost) {
      latest = undefined;
      const opening: Promise<Session> = open().then(
        (opened) => (latest = opened),
        (error: unknown) => {
          if (session === opening) session = undefined;
          throw error;
        },
      );
      session = opening;
    }
    return session;
  };

  await current();
  log.debug({}, 'publisher ready');
  return {
    async publish({ body, messageId, headers }) {
      if (closed) throw new TransientError('publisher is closed');
      const { send } = await current();
      await send(queue, typeof body === 'string' ? Buffer.from(body, 'utf8') : body, {
        persistent: true,
        contentType: 'application/json',
        messageId,
        headers,
      });
      log.debug({ messageId, profile: headers[HEADER.profile] }, 'published');
    },
    async close() {
      closed = true;
      const last = await session?.catch(() => undefined);
      session = undefined;
      if (last && !last.lost) await closeQuietly(last.connection, last.channel);
    },
  };
}
