import type { LoadedConfig } from '../config/index.js';
import { createDirectoryProfileSource, createHttpProfileSource, createMatcher, memoKey, type ProfileSource, type ScanResult } from '../detect/index.js';
import { ConfigError } from '../shared/errors.js';
import type { ProfileOutcome } from './process-profiles.js';
import type { RerenderedImage } from './rerender.js';

// What detect shares between direct and queue mode, without git or rendering:
// queue-mode detect must start fast.

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
  /** Direct mode: the images re-rendered at the start of the pass because templates, maps or image_name moved. */
  rerender?: { commits: number; images: RerenderedImage[] };
  /** Direct mode: images none of whose profiles is left in the index (never deleted by Packuilon). */
  orphaned?: string[];
  /** Merge-request mode: what the run did to the forge's requests. */
  requests?: { opened: string[]; updated: string[]; closed: string[]; unchanged: number; handsOff: string[] };
}

export function createProfileSource(loaded: LoadedConfig): ProfileSource {
  const { aquilon, queue } = loaded.config;
  if (loaded.paths.indexDir) return createDirectoryProfileSource(loaded.paths.indexDir, queue.max_message_bytes);
  if (!aquilon.index_url) throw new ConfigError(`${loaded.source}: aquilon: set index_url (Aquilon's profiles-info.xml) or index_dir`);
  return createHttpProfileSource({
    indexUrl: aquilon.index_url,
    ...(aquilon.profile_url ? { profileUrl: aquilon.profile_url } : {}),
    timeoutSeconds: aquilon.timeout,
    retries: aquilon.retries,
    // A profile larger than a message could never be published: refuse it at download.
    maxBytes: queue.max_message_bytes,
  });
}

/** What the index memo of queue mode is valid for: this source and this match. */
export function indexMemoKey(loaded: LoadedConfig, source: ProfileSource): string {
  const { match, match_regex } = loaded.config.aquilon;
  return memoKey(source.description, match, match_regex);
}

export function createProfileMatcher(loaded: LoadedConfig) {
  const { match, match_regex } = loaded.config.aquilon;
  try {
    return createMatcher(match, match_regex);
  } catch (error) {
    throw new ConfigError(`${loaded.source}: aquilon.match_regex: ${(error as Error).message}`);
  }
}

export function reportOf(scan: ScanResult, baseline: boolean): DetectReport {
  return {
    listed: scan.listed + scan.invalid.length,
    matched: scan.matched,
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
