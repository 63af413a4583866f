import { ciTest } from '../../flows/ci-test.js';
import type { CommandContext } from '../io.js';
import { textOption } from '../io.js';

/** `ci test KEY`: exit 0 pass, 3 the image failed its test, 1 Rally could not say. */
export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const result = await ciTest({
    key: args[0]!,
    loaded: context.config(),
    imageIds: Array.isArray(options.imageId) ? (options.imageId as string[]) : undefined,
    task: textOption(options.task),
    junit: textOption(options.junit),
    cwd: context.io.cwd,
    env: context.io.env,
    log: context.log,
    signal: context.io.stopSignal,
  });
  context.io.stdout.write(`${result.summary}\n`);
  context.io.stdout.write(`test record: ${result.files.test}\nJUnit: ${result.files.junit}\n${result.files.html ? `Rally report: ${result.files.html}\n` : ''}`);
  return result.exitCode;
}
