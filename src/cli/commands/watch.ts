import { EXIT, exitCodeOf, messageOf, UsageError } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';
import { detectPass, printDetectReport } from '../report.js';

/** `detect` every S seconds; a failed pass is logged and retried, a config error stops. SIGTERM ends it after the pass in hand. */
export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const interval = Number(options.interval);
  if (!Number.isFinite(interval) || interval <= 0) throw new UsageError(`--interval: expected a positive number of seconds, received ${String(options.interval)}`);
  const stop = context.io.stopSignal;
  while (!stop?.aborted) {
    try {
      printDetectReport(context, await detectPass(context, options.trigger ? { trigger: options.trigger } : {}, false), false);
    } catch (error) {
      if (exitCodeOf(error) === EXIT.usage) throw error;
      context.log.error({ err: messageOf(error) }, 'detect pass failed; retrying next interval');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, interval * 1000);
      stop?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
  return EXIT.ok;
}
