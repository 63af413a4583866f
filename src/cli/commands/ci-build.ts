import { relative } from 'node:path';
import { ciBuild, outRootOf } from '../../flows/ci-build.js';
import { EXIT, ToolError } from '../../shared/errors.js';
import { textOption, type CommandContext } from '../io.js';

/** `ci build KEY [--out DIR]`: exit 0 built, 1 Packer failed / timed out / was cancelled, 2 bad key or broken image folder. */
export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const loaded = context.config();
  const { io } = context;
  const result = await ciBuild({
    loaded,
    key: args[0]!,
    outRoot: outRootOf(loaded.paths.repo, io.cwd, textOption(options.out)),
    env: io.env,
    log: context.log,
    jobLog: (line) => io.stderr.write(`${line}\n`),
    ...(io.stopSignal ? { signal: io.stopSignal } : {}),
  });
  const shown = relative(io.cwd, result.dir);
  io.stdout.write(`${shown && !shown.startsWith('..') ? shown : result.dir}\n`);
  if (result.failure) throw new BuildFailed(`ci build ${result.record.key}: ${result.failure}`);
  return EXIT.ok;
}

/** Packer ran and failed: exit 1, the message carries Packer's last error lines. */
class BuildFailed extends ToolError {
  constructor(message: string) {
    super('packer', undefined, '');
    this.message = message;
  }
}
