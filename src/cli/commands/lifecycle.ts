// ci promote, ci reject, rollback, prune: flags → the lifecycle flow → a summary on stdout (or --json).
import { join } from 'node:path';
import { promote, reject, rejectIfFailed, rollback, prune, type LifecycleReport, type LifecycleFlowOptions } from '../../flows/promote.js';
import { recordLifecycle } from '../../flows/record.js';
import { EXIT, UsageError } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function flowOptions(context: CommandContext, options: Record<string, unknown>, key: string | undefined, command: string): Omit<LifecycleFlowOptions, 'key'> & { key?: string } {
  if (key !== undefined && !KEY.test(key)) throw new UsageError(`${command}: ${JSON.stringify(key)} is not an image key`);
  const ids = Array.isArray(options.imageId) ? (options.imageId as unknown[]).filter((v): v is string => typeof v === 'string') : [];
  const loaded = context.config();
  return {
    loaded, env: context.io.env, cwd: context.io.cwd, log: context.log, ...(key ? { key } : {}),
    ...(ids.length ? { imageIds: ids } : {}),
    ...(typeof options.out === 'string' ? { outDir: options.out } : {}),
  };
}

function print(context: CommandContext, report: LifecycleReport, json: unknown): void {
  if (json) {
    context.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const write = (line: string) => context.io.stdout.write(`${line}\n`);
  write(`${report.action} ${report.key}: ${report.status}${report.changes.length ? `, ${report.changes.length} change(s)` : ''}`);
  for (const c of report.planned ?? []) write(`  would: ${c.image} ${JSON.stringify(c.name)} ${c.field}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
  for (const c of report.changes) write(`  ${c.image} ${JSON.stringify(c.name)} ${c.field}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
  for (const s of report.skipped ?? []) write(`  left alone: ${s.image} ${JSON.stringify(s.name)}: ${s.reason}`);
  for (const name of report.nothing_to_roll_back ?? []) write(`  nothing to roll back: ${name}`);
}

function required(key: string | undefined, command: string): string {
  if (!key) throw new UsageError(`${command}: an image key is required`);
  return key;
}

export function promoteCommand(action: 'promote' | 'reject' | 'rollback') {
  return async (context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> => {
    const name = action === 'rollback' ? 'rollback' : `ci ${action}`;
    const key = required(args[0], name);
    const flow = { ...flowOptions(context, options, key, name), key };
    const record = async (report: LifecycleReport) => {
      if (!report.changes.length) return;
      const repo = flow.loaded.paths.repo;
      await recordLifecycle(report, { repo, remote: flow.loaded.config.repo.remote, outDir: flow.outDir ?? join(repo, 'out'), env: context.io.env, log: context.log });
    };
    let report: LifecycleReport;
    const started = Date.now();
    try {
      const run = action === 'promote' ? promote(flow) : action === 'rollback' ? rollback(flow) : options.ifFailed ? rejectIfFailed(flow) : reject(flow);
      const done = await run;
      if ('nothingRejected' in done) {
        context.log.info({ imageKey: key, reason: done.nothingRejected }, 'nothing rejected');
        context.io.stdout.write(`ci reject ${key}: nothing rejected: ${done.nothingRejected}\n`);
        return EXIT.ok;
      }
      report = done;
    } catch (error) {
      // a run that failed half-way is recorded too: what it did, and where it stopped
      const partial = (error as { report?: LifecycleReport }).report;
      if (partial) await record(partial).catch((e: Error) => context.log.error({ err: e.message }, 'recording the failed run failed'));
      throw error;
    }
    const applied = Date.now();
    context.log.info({ imageKey: key, action, status: report.status, changes: report.changes.length, ms: applied - started }, `${name} applied`);
    await record(report);
    if (report.changes.length) context.log.info({ imageKey: key, action, ms: Date.now() - applied }, `${name} recorded in git`);
    print(context, report, options.json);
    return action === 'rollback' && report.nothing_to_roll_back?.length ? EXIT.retry : EXIT.ok;
  };
}

export async function runPrune(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const report = await prune({ ...flowOptions(context, options, args[0], 'prune'), apply: options.apply === true });
  print(context, report, options.json);
  return EXIT.ok;
}
