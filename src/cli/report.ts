import type { DetectReport } from '../flows/scan-site.js';
import type { CommandContext } from './io.js';

export function printDetectReport(context: CommandContext, report: DetectReport & { published?: number }, json: boolean): void {
  if (json) {
    context.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const parts = [`${report.matched} matching profiles`, `${report.fetched} fetched`, `${report.changed} changed`, `${report.recompiled} recompiled without change`];
  if (report.baseline) parts.push('baseline recorded');
  else if (report.published !== undefined) parts.push(`${report.published} published`);
  else parts.push(`${report.committed} committed in ${report.commits} image commits`);
  if (report.rejected) parts.push(`${report.rejected} rejected`);
  if (report.skipped) parts.push(`${report.skipped} skipped`);
  if (report.failed.length) parts.push(`${report.failed.length} failed (retried next pass)`);
  if (report.rerender) parts.push(`${report.rerender.commits} images re-rendered`);
  if (report.orphaned?.length) parts.push(`${report.orphaned.length} orphaned images`);
  if (report.requests) {
    const { opened, updated, closed, handsOff } = report.requests;
    parts.push(`requests: ${opened.length} opened, ${updated.length} updated, ${closed.length} closed${handsOff.length ? `, ${handsOff.length} left to people` : ''}`);
  }
  context.io.stdout.write(`detect: ${parts.join(', ')}\n`);
  for (const outcome of report.outcomes) {
    if (outcome.outcome === 'rejected' || outcome.outcome === 'skipped') context.io.stdout.write(`  ${outcome.outcome}: ${outcome.reason}\n`);
  }
  for (const failure of report.failed) context.io.stdout.write(`  failed: ${failure.profile}: ${failure.error}\n`);
  for (const image of report.rerender?.images ?? []) {
    if (image.outcome === 'rerendered') context.io.stdout.write(`  re-rendered: ${image.key}: ${image.changed?.join(', ')} changed\n`);
    else context.io.stdout.write(`  not re-rendered: ${image.key}: ${image.reason}\n`);
  }
  for (const key of report.orphaned ?? []) context.io.stdout.write(`  orphaned: ${key}: no profile of it is left in the index (retire it with git rm -r images/${key})\n`);
}

/** One detect pass in the configured trigger mode; each mode's code is loaded only when used. */
export async function detectPass(context: CommandContext, overrides: Record<string, unknown>, baseline: boolean): Promise<DetectReport> {
  const loaded = context.config(overrides);
  context.log.debug({ uptimeMs: Math.round(process.uptime() * 1000) }, 'config loaded');
  if (loaded.config.trigger === 'queue' && !baseline) {
    const { publishChanges } = await import('../flows/publish.js');
    return publishChanges({ loaded, log: context.log, env: context.io.env });
  }
  const [{ detectOnce }, { createProgress }] = await Promise.all([import('../flows/detect.js'), import('../shared/progress.js')]);
  const progress = createProgress({ log: context.log, tty: context.io.stderr.isTTY ? context.io.stderr : undefined });
  return detectOnce({ loaded, log: context.log, baseline, env: context.io.env, progress });
}
