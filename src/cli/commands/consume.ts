import { startConsuming } from '../../flows/consume.js';
import { renderMetrics, serveMetrics } from '../../flows/metrics.js';
import { EXIT, UsageError } from '../../shared/errors.js';
import { textOption, type CommandContext } from '../io.js';

/** Long-running: until SIGTERM (finish the batch in hand, exit 0) or --max-messages. */
export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const maxMessages = options.maxMessages === undefined ? undefined : Number(options.maxMessages);
  if (maxMessages !== undefined && !(Number.isInteger(maxMessages) && maxMessages > 0)) throw new UsageError(`--max-messages: expected a positive integer, received ${String(options.maxMessages)}`);
  const port = options.metricsPort === undefined ? undefined : Number(options.metricsPort);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) throw new UsageError(`--metrics-port: expected a port number, received ${String(options.metricsPort)}`);
  const loaded = context.config();
  const log = context.log.child({ queue: loaded.config.queue.name });
  const { consumer, counters, done } = await startConsuming({ loaded, log, env: context.io.env, ...(maxMessages ? { maxMessages } : {}) });
  const server =
    port === undefined
      ? undefined
      : await serveMetrics(port, textOption(options.metricsHost) ?? '127.0.0.1', () => renderMetrics(consumer.stats(), counters), () => consumer.stats().connected);
  log.info({ prefetch: loaded.config.queue.prefetch, metricsPort: port }, 'consuming');
  await new Promise<void>((resolve) => {
    void done.then(resolve);
    context.io.stopSignal?.addEventListener('abort', () => resolve(), { once: true });
  });
  log.info({}, 'stopping: finishing the messages in hand');
  await consumer.stop();
  server?.close();
  const stats = consumer.stats();
  context.io.stdout.write(`consume: ${stats.received} received, ${stats.acked} acked, ${stats.deadLettered} dead-lettered, ${stats.requeued} requeued, ${counters.commits} commits\n`);
  return EXIT.ok;
}
