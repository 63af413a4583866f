import { EXIT } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';
import { detectPass, printDetectReport } from '../report.js';

export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const report = await detectPass(context, options.trigger ? { trigger: options.trigger } : {}, options.baseline === true);
  printDetectReport(context, report, options.json === true);
  return report.failed.length > 0 ? EXIT.retry : EXIT.ok;
}
