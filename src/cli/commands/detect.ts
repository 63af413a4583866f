import { detectOnce, type DetectReport } from '../../flows/detect.js';
import { EXIT } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const loaded = context.config(options.trigger ? { trigger: options.trigger } : {});
  if (loaded.config.trigger === 'queue' && !options.baseline) {
    const { publishChanges } = await import('../../flows/publish.js');
    const report = await publishChanges({ loaded, log: context.log, env: context.io.env });
    printReport(context, report, options.json === true);
    return report.failed.length > 0 ? EXIT.retry : EXIT.ok;
  }
  const report = await detectOnce({ loaded, log: context.log, baseline: options.baseline === true, env: context.io.env });
  printReport(context, report, options.json === true);
  return report.failed.length > 0 ? EXIT.retry : EXIT.ok;
}

export function printReport(context: CommandContext, report: DetectReport, json: boolean): void {
  if (json) {
    context.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const parts = [
    `${report.matched} matching profiles`,
    `${report.fetched} fetched`,
    `${report.changed} changed`,
    `${report.recompiled} recompiled without change`,
    report.baseline ? 'baseline recorded' : `${report.committed} committed in ${report.commits} image commits`,
  ];
  if ('published' in report) parts.push(`${String((report as { published: number }).published)} published`);
  if (report.rejected) parts.push(`${report.rejected} rejected`);
  if (report.skipped) parts.push(`${report.skipped} skipped`);
  if (report.failed.length) parts.push(`${report.failed.length} failed (retried next pass)`);
  context.io.stdout.write(`detect: ${parts.join(', ')}\n`);
  for (const outcome of report.outcomes) {
    if (outcome.outcome === 'rejected' || outcome.outcome === 'skipped') context.io.stdout.write(`  ${outcome.outcome}: ${outcome.reason}\n`);
  }
  for (const failure of report.failed) context.io.stdout.write(`  failed: ${failure.profile}: ${failure.error}\n`);
}
