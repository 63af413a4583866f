// Broker plumbing shared by the publisher, the consumer and the dead-letter
// tools: connect (errors named by host:port, never a password), declare the
// queues the way the seed does, publish and wait for the broker's confirm.
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Message, type Options } from 'amqplib';
import { ConfigError, TransientError, redact } from '../shared/errors.js';

/** The part of a pino logger this module uses. */
export interface QueueLog {
  child(bindings: Record<string, unknown>): QueueLog;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const CONNECT_TIMEOUT_MS = 5000;

/** `host:port` of an AMQP URL, for messages and logs. */
export function brokerAddress(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`queue.url: not a URL: ${redact(url)}`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new ConfigError(`queue.url: expected amqp:// or amqps://, got ${parsed.protocol}//`);
  }
  const port = parsed.port || (parsed.protocol === 'amqps:' ? '5671' : '5672');
  return `${parsed.hostname}:${port}`;
}

/** One connection; failures become TransientError (retry later) or ConfigError (bad credentials). */
export async function openConnection(url: string, purpose: string, log: QueueLog): Promise<ChannelModel> {
  const address = brokerAddress(url);
  let connection: ChannelModel;
  try {
    connection = await connect(url, {
      timeout: CONNECT_TIMEOUT_MS,
      // Nagle + the broker's delayed ACK held each small publish ~40 ms.
      noDelay: true,
      clientProperties: { connection_name: `packuilon ${purpose}` },
    });
  } catch (error) {
    let reason = redact(oneLine(error));
    // amqplib reads an HTTP (or other) reply as a giant frame header.
    if (/^Frame size \d+ exceeds maxFrameSize/.test(reason)) reason = `the server there does not speak AMQP (${reason})`;
    if (/ACCESS[_-]REFUSED|403/.test(reason)) throw new ConfigError(`RabbitMQ at ${address} refused the credentials: ${reason}`);
    throw new TransientError(`RabbitMQ at ${address} unreachable: ${reason}`);
  }
  // Without a listener an 'error' event would crash the process; 'close' follows it.
  connection.on('error', (error: Error) => log.warn({ broker: address, err: redact(oneLine(error)) }, 'broker connection error'));
  return connection;
}

/**
 * The seed declares `queue_declare(queue=QUEUE, durable=True)`: durable and no
 * arguments. Any other property or argument makes one side's declare fail with
 * 406 PRECONDITION_FAILED, so this must stay exactly that.
 */
export async function declareQueue(channel: ConfirmChannel, queue: string): Promise<void> {
  await channel.assertQueue(queue, { durable: true });
}

export function deadQueueOf(queue: string): string {
  return `${queue}.dead`;
}

/**
 * `send(queue, body, options)` resolves once the broker has confirmed the
 * message (it is on disk for a persistent message in a durable queue).
 * `mandatory` makes an unroutable message (its queue deleted) fail instead of vanishing.
 */
export function confirmedSender(channel: ConfirmChannel) {
  const returned = new Map<string, number>();
  channel.on('return', (message: Message) => {
    const id = String(message.properties.messageId ?? '');
    returned.set(id, (returned.get(id) ?? 0) + 1);
  });
  return (queue: string, body: Buffer, options: Options.Publish & { messageId: string }): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const done = (error: unknown): void => {
        const returns = returned.get(options.messageId) ?? 0;
        if (returns > 0) {
          if (returns === 1) returned.delete(options.messageId);
          else returned.set(options.messageId, returns - 1);
          reject(new TransientError(`RabbitMQ returned message ${options.messageId}: no queue ${queue}`));
        } else if (error) {
          reject(new TransientError(`RabbitMQ did not confirm message ${options.messageId}: ${redact(oneLine(error))}`));
        } else resolve();
      };
      try {
        channel.sendToQueue(queue, body, { ...options, mandatory: true }, done);
      } catch (error) {
        done(error); // channel already closed
      }
    });
}

/**
 * Close the channel before its connection. amqplib buffers frames per channel
 * and the connection's Close can overtake acks still in the channel's buffer:
 * the broker then never sees those acks and redelivers the messages.
 */
export async function closeQuietly(connection: ChannelModel, channel?: Channel): Promise<void> {
  await channel?.close().catch(() => undefined);
  await connection.close().catch(() => undefined);
}

export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').trim();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
