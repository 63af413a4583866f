import type { LoadedConfig } from '../config/index.js';
import {
  createDirectoryProfileSource,
  createHttpProfileSource,
  createMatcher,
  carryOverState,
  readState,
  scanForChanges,
  writeState,
  type ProfileSource,
} from '../detect/index.js';
import { createGit } from '../repo/index.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { ScanResult } from '../detect/index.js';
import { processProfiles, type ProfileOutcome } from './process-profiles.js';
import { loadSite } from './site.js';

export interface DetectReport {
  listed: number;
  matched: number;
  fetched: number;
  changed: number;
  recompiled: number;
  committed: number;
  /** Image commits written (one per changed image). */
  commits: number;
  rejected: number;
  skipped: number;
  failed: { profile: string; error: string }[];
  invalidNames: string[];
  outcomes: ProfileOutcome[];
  baseline: boolean;
}

export function createProfileSource(loaded: LoadedConfig): ProfileSource {
  const { aquilon, queue } = loaded.config;
  if (loaded.paths.indexDir) return createDirectoryProfileSource(loaded.paths.indexDir);
  if (!aquilon.index_url) throw new ConfigError(`${loaded.source}: aquilon: set index_url (Aquilon's profiles-info.xml) or index_dir`);
  return createHttpProfileSource({
    indexUrl: aquilon.index_url,
    ...(aquilon.profile_url ? { profileUrl: aquilon.profile_url } : {}),
    timeoutSeconds: aquilon.timeout,
    retries: aquilon.retries,
    maxBytes: queue.max_message_bytes,
  });
}

export function createProfileMatcher(loaded: LoadedConfig) {
  const { match, match_regex } = loaded.config.aquilon;
  try {
    return createMatcher(match, match_regex);
  } catch (error) {
    throw new ConfigError(`${loaded.source}: aquilon.match_regex: ${(error as Error).message}`);
  }
}

/** One pass: find changed profiles, hand them on, and only then advance the state. */
export async function detectOnce(options: { loaded: LoadedConfig; log: Logger; baseline?: boolean; env: NodeJS.ProcessEnv }): Promise<DetectReport> {
  const { loaded, log } = options;
  const source = createProfileSource(loaded);
  const matcher = createProfileMatcher(loaded);
  // Maps and templates first: a config error must not cost a download of the site.
  const site = options.baseline ? undefined : loadSite(loaded);
  try {
    const { state } = await readState(loaded.paths.stateDir);
    const scan = await scanForChanges({ source, matcher, state, concurrency: loaded.config.aquilon.concurrency, log, all: options.baseline ?? false });
    const report = reportOf(scan, options.baseline ?? false);
    const next = carryOverState(scan, state);
    const mtimes = new Map(scan.matched.map((entry) => [entry.name, entry.mtime]));
    if (options.baseline) {
      for (const { entry, profile } of scan.changed) next.set(entry.name, { mtime: entry.mtime, digest: profile.digest, outcome: 'baseline' });
    } else if (scan.changed.length > 0) {
      const repo = loaded.config.repo;
      const result = await processProfiles({
        inputs: scan.changed.map(({ profile }) => ({ profile })),
        trigger: 'detect',
        site: site!,
        repo: { git: createGit(loaded.paths.repo, options.env), branch: repo.branch, ...(repo.remote ? { remote: repo.remote } : {}), pushRetries: repo.push_retries },
        log,
      });
      report.outcomes = result.outcomes;
      report.commits = result.commits;
      for (const outcome of result.outcomes) {
        next.set(outcome.profile, { mtime: mtimes.get(outcome.profile)!, digest: outcome.digest, outcome: outcome.outcome });
        if (outcome.outcome === 'committed') report.committed++;
        else if (outcome.outcome === 'rejected') report.rejected++;
        else if (outcome.outcome === 'skipped') report.skipped++;
      }
    }
    await writeState(loaded.paths.stateDir, next);
    return report;
  } finally {
    source.close();
  }
}

export function reportOf(scan: ScanResult, baseline: boolean): DetectReport {
  return {
    listed: scan.matched.length + scan.invalid.length,
    matched: scan.matched.length,
    fetched: scan.changed.length + scan.unchanged.length + scan.bad.length,
    changed: scan.changed.length,
    recompiled: scan.unchanged.length,
    committed: 0,
    commits: 0,
    rejected: scan.bad.length,
    skipped: 0,
    failed: scan.failed.map(({ entry, error }) => ({ profile: entry.name, error: error.message })),
    invalidNames: scan.invalid,
    outcomes: [],
    baseline,
  };
}
