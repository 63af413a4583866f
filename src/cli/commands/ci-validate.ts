import { runCiValidate } from '../../flows/ci-validate.js';
import { ConfigError, EXIT } from '../../shared/errors.js';
import { textOption, type CommandContext } from '../io.js';

export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const loaded = context.config();
  const result = await runCiValidate(loaded, {
    ...(textOption(options.from) !== undefined ? { from: textOption(options.from)! } : {}),
    ...(textOption(options.to) !== undefined ? { to: textOption(options.to)! } : {}),
    env: context.io.env,
    log: context.log,
  });
  for (const warning of result.warnings) context.io.stderr.write(`packuilon: warning: ${warning}\n`);
  for (const problem of result.problems) context.io.stdout.write(`${problem}\n`);
  if (result.problems.length) throw new ConfigError(`ci validate: ${result.problems.length} problem(s) in ${result.checked.length} changed image(s); first: ${result.problems[0]}`);
  context.io.stdout.write(`ci validate: ${result.checked.length} changed image(s) valid${result.checked.length ? `: ${result.checked.join(', ')}` : ''}\n`);
  return EXIT.ok;
}
