// The record in git of a lifecycle run: the build and test verdict of the key
// (from out/<key>/build.json and test.json, when the job has them) and the
// promotion / rejection / rollback, as notes on the image's commit.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGit, recordEvents, type ImageEvent } from '../repo/index.js';
import type { Logger } from '../shared/log.js';
import type { LifecycleReport } from './promote.js';

export interface RecordFlowOptions {
  repo: string;
  remote?: string | undefined;
  outDir: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function recordLifecycle(report: LifecycleReport, options: RecordFlowOptions): Promise<string | null> {
  if (report.status === 'dry-run') return null;
  const env = { GIT_AUTHOR_NAME: 'Packuilon', GIT_AUTHOR_EMAIL: 'packuilon@localhost', GIT_COMMITTER_NAME: 'Packuilon', GIT_COMMITTER_EMAIL: 'packuilon@localhost', ...options.env };
  const git = createGit(options.repo, env);
  const commit = options.env.CI_COMMIT_SHA || 'HEAD';
  if ((await git.run(['rev-parse', '--verify', '--quiet', `${commit}^{commit}`], { allowFailure: true })).code !== 0) {
    options.log.warn({ imageKey: report.key, repo: options.repo, commit }, 'no such commit in the repo: the lifecycle is not recorded in git');
    return null;
  }
  const events: ImageEvent[] = [];
  const dir = join(options.outDir, report.key);
  const build = await readJson(join(dir, 'build.json'));
  if (build && Array.isArray(build.builds)) {
    const builds = build.builds as { image_id?: unknown; image_name?: unknown; exit_code?: unknown }[];
    const ids = builds.map((b) => (typeof b.image_id === 'string' ? b.image_id : null));
    events.push({ id: `build:${String(build.commit)}:${ids.join(',')}`, type: 'build', key: report.key, at: report.at, commit: build.commit ?? null, images: builds.map((b) => ({ id: b.image_id ?? null, name: b.image_name ?? null, exit_code: b.exit_code ?? null })), summary: `built ${builds.length} image(s): ${ids.map(String).join(', ')}` });
  }
  const verdict = await readJson(join(dir, 'test.json'));
  if (verdict && typeof verdict.verdict === 'string') {
    events.push({ id: `test:${String(verdict.task_uuid)}:${verdict.verdict}`, type: 'test', key: report.key, at: report.at, verdict: verdict.verdict, reasons: verdict.reasons ?? [], task_uuid: verdict.task_uuid ?? null, summary: `test ${verdict.verdict}` });
  }
  if (report.action !== 'prune') {
    const names = report.images.filter((i) => i.before !== i.after).map((i) => `${i.id}: ${JSON.stringify(i.before)} → ${JSON.stringify(i.after)}`);
    events.push({
      id: `${report.action}:${report.at}:${report.images.map((i) => i.id).join(',')}`, type: report.action, key: report.key, at: report.at, status: report.status,
      images: report.images, changes: report.changes.length, pipeline_url: report.pipeline_url, ...(report.error ? { error: report.error } : {}),
      summary: `${report.action} ${report.status}${names.length ? `: ${names.join('; ')}` : ''}`,
    });
  }
  return recordEvents(git, events, { commit, remote: options.remote, log: options.log });
}
