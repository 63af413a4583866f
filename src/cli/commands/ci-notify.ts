import { join } from 'node:path';
import { assertImageKey, whatFailed } from '../../flows/build-inputs.js';
import { ciNotify } from '../../flows/ci-notify.js';
import type { Outcome } from '../../notify/index.js';
import { EXIT } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

/** `ci notify KEY --outcome promoted|rejected|build-failed|auto`: exit 0 even when a channel failed (a warning). */
export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const key = args[0]!;
  assertImageKey('ci notify', key);
  const loaded = context.config();
  let outcome = options.outcome as Outcome | 'auto';
  if (outcome === 'auto') {
    // The reject job's notification: what the chain's records say went wrong.
    const failed = await whatFailed(join(loaded.paths.repo, 'out', key), key);
    if (failed.outcome === 'none') {
      context.io.stdout.write(`ci notify ${key}: no final outcome to tell: ${failed.why}\n`);
      return EXIT.ok;
    }
    outcome = failed.outcome;
  }
  const result = await ciNotify({
    key,
    outcome,
    loaded,
    imageIds: Array.isArray(options.imageId) ? (options.imageId as string[]) : undefined,
    env: context.io.env,
    log: context.log,
  });
  for (const warning of result.warnings) context.io.stderr.write(`packuilon: warning: ${warning}\n`);
  context.io.stdout.write(result.sent.length ? `notified: ${result.sent.join(', ')}\n` : result.channels ? 'no notification went out\n' : 'no notification channel configured (notify.email, notify.webhook_url_env)\n');
  return EXIT.ok;
}
