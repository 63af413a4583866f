import { brokerUrl } from '../../flows/publish.js';
import { listDeadLetters, replayDeadLetters, deadQueueOf, type DeadLetter } from '../../queue/index.js';
import { EXIT, UsageError } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

const describe = (letter: DeadLetter) => ({
  messageId: letter.messageId,
  profile: letter.profile ?? null,
  reason: letter.reason ?? null,
  deadLetteredAt: letter.deadLetteredAt ?? null,
  bytes: letter.body.length,
});

export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const action = args[0];
  const loaded = context.config();
  const url = brokerUrl(loaded, context.io.env);
  const queue = loaded.config.queue.name;
  const json = options.json === true;
  if (action === 'list') {
    const limit = Number(options.limit ?? 100);
    if (!(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit: expected a positive integer, received ${String(options.limit)}`);
    const { total, letters } = await listDeadLetters({ url, queue, limit, log: context.log });
    if (json) context.io.stdout.write(`${JSON.stringify({ queue: deadQueueOf(queue), total, letters: letters.map(describe) }, null, 2)}\n`);
    else {
      context.io.stdout.write(`${deadQueueOf(queue)}: ${total} dead letter${total === 1 ? '' : 's'}\n`);
      for (const letter of letters) context.io.stdout.write(`  ${letter.deadLetteredAt ?? '?'}  ${letter.profile ?? '(unnamed)'}  ${letter.messageId}\n    ${letter.reason ?? ''}\n`);
    }
    return EXIT.ok;
  }
  if (action === 'replay') {
    const profile = typeof options.profile === 'string' ? options.profile : undefined;
    const result = await replayDeadLetters({ url, queue, log: context.log, ...(profile ? { filter: (letter: DeadLetter) => letter.profile === profile } : {}) });
    if (json) context.io.stdout.write(`${JSON.stringify({ replayed: result.replayed.map(describe), kept: result.kept }, null, 2)}\n`);
    else context.io.stdout.write(`dlq replay: ${result.replayed.length} moved back to ${queue}, ${result.kept} kept\n`);
    return EXIT.ok;
  }
  throw new UsageError(`dlq: expected list or replay, received ${JSON.stringify(action ?? '')}`);
}
