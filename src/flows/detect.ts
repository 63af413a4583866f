import type { LoadedConfig } from '../config/index.js';
import { applyScan, readState, scanForChanges, saveState } from '../detect/index.js';
import { createGit } from '../repo/index.js';
import type { Logger } from '../shared/log.js';
import type { Progress } from '../shared/progress.js';
import { parseInput, processProfiles, repoTarget, type ParsedInput } from './process-profiles.js';
import { createProfileMatcher, createProfileSource, reportOf, type DetectReport } from './scan-site.js';

/** One pass: find changed profiles, hand them on, and only then advance the state. */
export async function detectOnce(options: { loaded: LoadedConfig; log: Logger; baseline?: boolean; env: NodeJS.ProcessEnv; progress?: Progress }): Promise<DetectReport> {
  const { loaded, log } = options;
  // The repo target first: a config that cannot commit must not cost a download of the site.
  const target = options.baseline ? undefined : repoTarget(loaded, createGit(loaded.paths.repo, options.env));
  const source = createProfileSource(loaded);
  const matcher = createProfileMatcher(loaded);
  try {
    const [stateFile, listing] = await Promise.all([readState(loaded.paths.stateDir), source.listProfiles()]);
    const { state } = stateFile;
    // Each changed profile is parsed as it arrives and its text dropped: a first import holds facts, not the site.
    const parsedInputs = new Map<string, ParsedInput>();
    const scan = await scanForChanges({
      source, listing, matcher, state, concurrency: loaded.config.aquilon.concurrency, log, all: options.baseline ?? false, keepText: false,
      ...(options.baseline ? {} : { onChanged: (ref, bytes) => void parsedInputs.set(ref.name, parseInput({ ...ref, text: bytes.toString('utf8') })) }),
      ...(options.progress ? { onFetched: (done, total) => options.progress!.update('fetched', done, total) } : {}),
    });
    const report = reportOf(scan, options.baseline ?? false);
    applyScan(state, scan);
    const mtimes = new Map(scan.matched.map((entry) => [entry.name, entry.mtime]));
    if (options.baseline) {
      for (const { entry, profile } of scan.changed) state.set(entry.name, { mtime: entry.mtime, digest: profile.digest, outcome: 'baseline' });
    } else if (scan.changed.length > 0) {
      const result = await processProfiles({
        inputs: scan.changed.map(({ profile }) => parsedInputs.get(profile.name)!),
        trigger: 'detect',
        loaded,
        repo: target!,
        log,
        ...(options.progress ? { onCommitted: (count: number, images: number) => options.progress!.update('committed', count, images) } : {}),
      });
      parsedInputs.clear();
      report.outcomes = result.outcomes;
      report.commits = result.commits;
      for (const outcome of result.outcomes) {
        state.set(outcome.profile, { mtime: mtimes.get(outcome.profile)!, digest: outcome.digest, outcome: outcome.outcome });
        if (outcome.outcome === 'committed') report.committed++;
        else if (outcome.outcome === 'rejected') report.rejected++;
        else if (outcome.outcome === 'skipped') report.skipped++;
      }
    }
    await saveState(loaded.paths.stateDir, stateFile);
    return report;
  } finally {
    options.progress?.end();
    source.close();
  }
}

