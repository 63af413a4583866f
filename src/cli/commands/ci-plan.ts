import { resolve } from 'node:path';
import { AVAILABLE_STAGES, formatPlanText, renderChildPipeline } from '../../ci/index.js';
import { runCiPlan } from '../../flows/ci-plan.js';
import { EXIT } from '../../shared/errors.js';
import { writeFileAtomic } from '../../shared/fs.js';
import { textOption, type CommandContext } from '../io.js';

export const DEFAULT_PACKUILON = 'npx --no-install packuilon';

export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const loaded = context.config();
  const result = await runCiPlan(loaded, {
    ...(textOption(options.from) !== undefined ? { from: textOption(options.from)! } : {}),
    ...(textOption(options.to) !== undefined ? { to: textOption(options.to)! } : {}),
    env: context.io.env,
    log: context.log,
  });
  const childFile = textOption(options.childPipeline);
  if (childFile !== undefined) {
    const path = resolve(context.io.cwd, childFile);
    await writeFileAtomic(path, renderChildPipeline(result.plan, { packuilon: context.io.env.PACKUILON || DEFAULT_PACKUILON }));
  }
  if (options.json) context.io.stdout.write(`${JSON.stringify(result.plan, null, 2)}\n`);
  else {
    context.io.stdout.write(formatPlanText(result.plan, result.basis, AVAILABLE_STAGES));
    if (childFile !== undefined) context.io.stdout.write(`child pipeline: ${childFile}\n`);
  }
  for (const warning of result.warnings) context.io.stderr.write(`packuilon: warning: ${warning}\n`);
  return EXIT.ok;
}
