import { ciNotify } from '../../flows/ci-notify.js';
import type { Outcome } from '../../notify/index.js';
import { EXIT } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

/** `ci notify KEY --outcome promoted|rejected|build-failed|auto`: exit 0 even when a channel failed (a warning). */
export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const key = args[0]!;
  const result = await ciNotify({
    key,
    outcome: options.outcome as Outcome | 'auto',
    loaded: context.config(),
    imageIds: Array.isArray(options.imageId) ? (options.imageId as string[]) : undefined,
    env: context.io.env,
    log: context.log,
  });
  if (result.nothingToTell) {
    context.io.stdout.write(`ci notify ${key}: no final outcome to tell: ${result.nothingToTell}\n`);
    return EXIT.ok;
  }
  for (const warning of result.warnings) context.io.stderr.write(`packuilon: warning: ${warning}\n`);
  context.io.stdout.write(result.sent.length ? `notified: ${result.sent.join(', ')}\n` : result.channels ? 'no notification went out\n' : 'no notification channel configured (notify.email, notify.webhook_url_env)\n');
  return EXIT.ok;
}
