import type { LoadedConfig } from '../config/index.js';
import { applyScan, planPass, rememberPass, scanForChanges, saveState } from '../detect/index.js';
import { createGit, findBase } from '../repo/index.js';
import type { Logger } from '../shared/log.js';
import type { Progress } from '../shared/progress.js';
import { rerenderIfInputsMoved } from './auto-rerender.js';
import { findOrphanedImages, readDeparted, updateDeparted } from './orphans.js';
import { parseInput, processProfiles, repoTarget, type ParsedInput } from './process-profiles.js';
import type { Forge } from '../forge/index.js';
import { createProfileMatcher, createProfileSource, indexMemoKey, reportOf, type DetectReport } from './scan-site.js';

/** One pass: find changed profiles, hand them on, and only then advance the state. */
export async function detectOnce(options: { loaded: LoadedConfig; log: Logger; baseline?: boolean; env: NodeJS.ProcessEnv; progress?: Progress }): Promise<DetectReport> {
  const { loaded, log } = options;
  // The repo target first: a config that cannot commit must not cost a download of the site.
  const target = options.baseline ? undefined : repoTarget(loaded, createGit(loaded.paths.repo, options.env));
  // Merge-request mode: a missing token is a config error before any download.
  let forge: Forge | undefined;
  if (target?.mode === 'merge-request') forge = (await import('./merge-requests.js')).forgeOf(loaded, options.env, log);
  const source = createProfileSource(loaded);
  const matcher = createProfileMatcher(loaded);
  // Templates or maps moved since the last pass: re-render first (while the index downloads), so the
  // profile commits of this pass build on it.
  const rerendering = target ? rerenderIfInputsMoved({ loaded, repo: target, log, fetch: true }) : Promise.resolve(null);
  rerendering.catch(() => undefined);
  try {
    const [pass, departed] = await Promise.all([planPass({ source, matcher, stateDir: loaded.paths.stateDir, log, all: options.baseline ?? false }), readDeparted(loaded.paths.stateDir)]);
    const { stateFile, plan } = pass;
    const { state } = stateFile;
    // Each changed profile is parsed as it arrives and its text dropped: a first import holds facts, not the site.
    // Merge-request mode keeps the texts: their copies show reviewers which fields changed.
    const parsedInputs = new Map<string, ParsedInput>();
    const scan = await scanForChanges({
      source, plan, state, concurrency: loaded.config.aquilon.concurrency, log, keepText: forge !== undefined,
      ...(options.baseline ? {} : { onChanged: (ref, _bytes, { text, document, bytesSha256 }) => void parsedInputs.set(ref.name, parseInput({ ...ref, text }, undefined, document, bytesSha256)) }),
      ...(options.progress ? { onFetched: (done, total) => options.progress!.update('fetched', done, total) } : {}),
    });
    const report = reportOf(scan, options.baseline ?? false);
    const indexNames = new Set(pass.entries!.map((entry) => entry.name));
    // Known to the state, gone from the index: these hosts left Aquilon.
    const left = scan.known < state.size ? [...state.names()].filter((name) => !indexNames.has(name)) : [];
    await updateDeparted(loaded.paths.stateDir, departed, { left, listed: indexNames });
    applyScan(state, scan);
    // The outcomes are the changed profiles': their index entry and bytes digest, by name (not a map of the whole site).
    const changedBy = new Map(scan.changed.map((changed) => [changed.entry.name, changed]));
    const rerendered = await rerendering;
    if (rerendered) report.rerender = { commits: rerendered.commits, images: rerendered.images.filter((image) => image.outcome !== 'unchanged') };
    let rendered: Awaited<ReturnType<typeof processProfiles>> | undefined;
    if (options.baseline) {
      for (const { entry, profile, bytes } of scan.changed) state.set(entry.name, { mtime: entry.mtime, digest: profile.digest, outcome: 'baseline', bytes });
    } else if (scan.changed.length > 0) {
      const result = await processProfiles({
        inputs: scan.changed.map(({ profile }) => parsedInputs.get(profile.name)!),
        trigger: 'detect',
        loaded,
        repo: target!,
        log,
        // Hosts that left Aquilon leave the image's manifest with its next render.
        keepProfile: (name) => !departed.has(name),
        ...(options.progress ? { onCommitted: (count: number, images: number) => options.progress!.update('committed', count, images) } : {}),
      });
      rendered = result;
      parsedInputs.clear();
      report.outcomes = result.outcomes;
      report.commits = result.commits;
      for (const outcome of result.outcomes) {
        const { entry, bytes } = changedBy.get(outcome.profile)!;
        state.set(outcome.profile, { mtime: entry.mtime, digest: outcome.digest, outcome: outcome.outcome, bytes });
        if (outcome.outcome === 'committed') report.committed++;
        else if (outcome.outcome === 'rejected') report.rejected++;
        else if (outcome.outcome === 'skipped') report.skipped++;
      }
    }
    if (target) {
      const commit = await findBase(target.git, target.branch, target.remote);
      report.orphaned = await findOrphanedImages({ git: target.git, commit, departed, stateDir: loaded.paths.stateDir });
      for (const key of report.orphaned) log.warn({ imageKey: key }, 'image orphaned: no profile of it is left in the index');
    }
    await saveState(loaded.paths.stateDir, stateFile);
    // A clean baseline of a queue-mode site: its index is the memo the first queue pass diffs against.
    if (options.baseline && loaded.config.trigger === 'queue' && scan.failed.length === 0 && plan.invalid.length === 0) {
      await rememberPass({ stateDir: loaded.paths.stateDir, memoKey: indexMemoKey(loaded, source), pass });
    }
    // After the state: the branches are pushed, so a forge that fails here loses nothing (exit 1, the next pass reconciles).
    if (forge && target) {
      const { reconcileAfterRender } = await import('./merge-requests.js');
      report.requests = await reconcileAfterRender({ loaded, git: target.git, forge, log, inputs: scan.changed.map(({ profile }) => ({ profile })), ...(rendered ? { result: rendered } : {}) });
    }
    return report;
  } finally {
    options.progress?.end();
    source.close();
    // A pass that failed still lets its re-render finish (or fail) before the process may exit.
    await rerendering.catch(() => undefined);
  }
}

