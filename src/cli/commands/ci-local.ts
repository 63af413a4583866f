import { runCiLocal } from '../../flows/ci-local.js';
import { EXIT } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

export async function run(context: CommandContext, _options: Record<string, unknown>, args: string[]): Promise<number> {
  const loaded = context.config();
  const result = await runCiLocal(loaded, {
    env: context.io.env,
    args,
    onLine: (stream, line) => (stream === 'stdout' ? context.io.stdout : context.io.stderr).write(`${line}\n`),
    ...(context.io.stopSignal ? { signal: context.io.stopSignal } : {}),
  });
  if (result.failedJobs.length) {
    context.io.stderr.write(`packuilon: ci local: failed jobs: ${result.failedJobs.join(', ')}\n`);
    return EXIT.retry;
  }
  if (result.exitCode !== 0) {
    context.io.stderr.write(`packuilon: ci local: gitlab-ci-local exited ${result.exitCode}\n`);
    return EXIT.retry;
  }
  return EXIT.ok;
}
