import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { scaffoldImageRepo } from '../../flows/init.js';
import { createGit } from '../../repo/index.js';
import { EXIT } from '../../shared/errors.js';
import { textOption, type CommandContext } from '../io.js';

export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const dir = resolve(context.io.cwd, args[0] ?? '.');
  const written = await scaffoldImageRepo({
    dir,
    match: textOption(options.match) ?? '',
    ...(typeof options.indexUrl === 'string' ? { indexUrl: options.indexUrl } : {}),
    ...(typeof options.indexDir === 'string' ? { indexDir: resolve(context.io.cwd, options.indexDir) } : {}),
    ...(typeof options.remote === 'string' ? { remote: options.remote } : {}),
  });
  const git = createGit(dir, context.io.env);
  const top = await git.run(['rev-parse', '--show-toplevel'], { allowFailure: true });
  const isRepo = top.code === 0 && realpathSync(top.stdout.trim()) === realpathSync(dir);
  if (!isRepo) await git.run(['init', '--quiet', '--initial-branch=main']);
  context.io.stdout.write(`init: ${dir}: wrote ${written.join(', ')}${isRepo ? '' : '; git repository created on branch main'}\n`);
  return EXIT.ok;
}
