import { resolve } from 'node:path';
import { formatReport, migrate } from '../../migrate/index.js';
import { EXIT, UsageError } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const [dir] = args;
  if (!dir) throw new UsageError('migrate: give the seed directory, e.g. packuilon migrate /etc/packer-utils');
  const { cwd } = context.io;
  const report = await migrate({
    from: resolve(cwd, dir),
    into: resolve(cwd, typeof options.into === 'string' ? options.into : '.'),
    trigger: options.trigger === 'queue' ? 'queue' : 'direct',
  });
  context.io.stdout.write(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return EXIT.ok;
}
