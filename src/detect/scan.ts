import type { ProfileInput, ProfileRef } from '../model.js';
import { bytesDigests, digestProfileText, sameProfile } from '../shared/digest.js';
import { InputError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { assertUtf8Profile } from '../shared/profile-text.js';
import { mapWithConcurrency } from '../shared/pool.js';
import type { IndexDelta } from './index-diff.js';
import type { IndexEntry, Matcher } from './profile-index.js';
import type { ProfileSource } from './profile-source.js';
import type { DetectorState } from './state.js';

export interface ScanResult {
  /** How many entries of the index match. */
  matched: number;
  /** Entries in the index, matching or not. */
  listed: number;
  /** How many matched entries the state knows: fewer than its size means some left the index. */
  known: number;
  /** Names the state holds that no matching entry of the index has any more: dropped by applyScan. */
  gone: string[];
  invalid: string[];
  /** Content differs from the state (or is new): oldest first, so the newest wins per image. `bytes`: their bytesDigest, for the state. */
  changed: { entry: IndexEntry; profile: ProfileInput; bytes: string }[];
  /** A recompile: new mtime, same digest. */
  unchanged: { entry: IndexEntry; digest: string; bytes: string }[];
  /** Unreadable as served (e.g. a corrupt .gz): handled as bad input. */
  bad: { entry: IndexEntry; error: InputError }[];
  /** Could not be downloaded now: not recorded, retried next pass. */
  failed: { entry: IndexEntry; error: Error }[];
}

/** What a pass downloads, and what it knows of the index without downloading. */
export type ScanPlan = Pick<ScanResult, 'matched' | 'listed' | 'known' | 'gone' | 'invalid'> & { toFetch: IndexEntry[] };

/** The plan from the whole index: one state lookup per matching entry. `all`: every matching profile is downloaded. */
export function planFromListing(listing: { entries: IndexEntry[]; invalid: string[] }, matcher: Matcher, state: DetectorState, all = false): ScanPlan {
  const matched = listing.entries.filter((entry) => matcher(entry.name));
  // Which profiles to download: those whose index entry moved since the state recorded them.
  const { moved, known } = state.partition(matched);
  let gone: string[] = [];
  if (known < state.size) {
    const listed = new Set(matched.map((entry) => entry.name));
    gone = [...state.names()].filter((name) => !listed.has(name));
  }
  return { matched: matched.length, listed: listing.entries.length, known, gone, invalid: listing.invalid, toFetch: all ? matched : moved };
}

/**
 * The plan from the lines that changed since the index of the last clean pass (index-diff.ts),
 * whose state held every matching entry of it at its mtime and nothing else: `state` needs
 * the records of the delta's names only. Undefined when the delta contradicts that (a name
 * listed twice, a removed entry the state does not know): the caller plans from the whole index.
 */
export function planFromDelta(delta: IndexDelta, last: { entries: number; matched: number }, matcher: Matcher, state: DetectorState): ScanPlan | undefined {
  const removed = new Set<string>();
  let matched = last.matched;
  let known = last.matched;
  for (const { name } of delta.removed) {
    if (!matcher(name)) continue;
    if (removed.has(name) || !state.get(name)) return undefined;
    removed.add(name);
    matched--;
    known--;
  }
  const added = new Set<string>();
  const toFetch: IndexEntry[] = [];
  for (const entry of delta.added) {
    if (!matcher(entry.name)) continue;
    if (added.has(entry.name)) return undefined;
    added.add(entry.name);
    matched++;
    const recorded = state.get(entry.name);
    // A record for a name not removed: it is listed twice now.
    if (recorded && !removed.has(entry.name)) return undefined;
    if (recorded) known++;
    if (recorded?.mtime !== entry.mtime) toFetch.push(entry);
  }
  const gone = [...removed].filter((name) => !added.has(name));
  return { matched, listed: last.entries - delta.removed.length + delta.added.length, known, gone, invalid: [], toFetch };
}

export async function scanForChanges(options: {
  source: ProfileSource;
  plan: ScanPlan;
  state: DetectorState;
  concurrency: number;
  log: Logger;
  /** Keep the text of changed profiles [true]; a baseline needs only digests, and 20,000 texts are 400 MB. */
  keepText?: boolean;
  /**
   * Called as soon as a changed profile is hashed, with its bytes (queue mode publishes while the
   * rest downloads), its text and the document parsed for the digest (undefined: not JSON).
   */
  onChanged?: (profile: ProfileRef, bytes: Buffer, parsed: { text: string; document: unknown; bytesSha256: string }) => void;
  /** Called after each download (done or failed), with how many of how many. */
  onFetched?: (done: number, total: number) => void;
}): Promise<ScanResult> {
  const { source, state, log, plan } = options;
  const { toFetch } = plan;
  log.info({ source: source.description, listed: plan.listed, matched: plan.matched, toFetch: toFetch.length }, 'index read');
  const result: ScanResult = { listed: plan.listed, matched: plan.matched, known: plan.known, gone: plan.gone, invalid: plan.invalid, changed: [], unchanged: [], bad: [], failed: [] };
  let done = 0;
  const keepText = options.keepText ?? true;
  // Hashed in the worker, so an unchanged profile's text is garbage as soon as it is read.
  await mapWithConcurrency(toFetch, options.concurrency, async (entry) => {
    let bytes: Buffer;
    try {
      bytes = await source.readProfile(entry.name);
    } catch (error) {
      if (error instanceof InputError) result.bad.push({ entry, error });
      else result.failed.push({ entry, error: error as Error });
      return;
    } finally {
      if (++done % 500 === 0) log.debug({ done, of: toFetch.length }, 'downloading profiles');
      options.onFetched?.(done, toFetch.length);
    }
    try {
      assertUtf8Profile(entry.name, bytes);
    } catch (error) {
      result.bad.push({ entry, error: error as InputError });
      return;
    }
    const recorded = state.get(entry.name);
    // One hash of the bytes serves the state (short) and records of earlier releases (full).
    const exact = bytesDigests(bytes);
    // The bytes last seen again (a recompile that changed nothing): no need to parse them.
    if (recorded?.bytes === exact.short && recorded.digest !== '') {
      result.unchanged.push({ entry, digest: recorded.digest, bytes: exact.short });
      return;
    }
    // The digest of the content, not of its formatting; a record an earlier release made of the bytes still counts.
    const { digest, text, document } = digestProfileText(bytes);
    if (sameProfile(recorded?.digest, digest, bytes, exact.full)) {
      result.unchanged.push({ entry, digest, bytes: exact.short });
      return;
    }
    options.onChanged?.({ name: entry.name, digest }, bytes, { text, document, bytesSha256: exact.full });
    result.changed.push({ entry, profile: { name: entry.name, digest, text: keepText ? text : '' }, bytes: exact.short });
  });
  for (const name of result.invalid) log.warn({ profile: name }, 'index entry ignored: not a usable profile name');
  for (const { entry, error } of result.bad) log.warn({ profile: entry.name, ...(error.field ? { field: error.field } : {}), reason: error.problem }, 'profile rejected');
  for (const { entry, error } of result.failed) log.error({ profile: entry.name, error: error.message }, 'profile not downloaded; retried next pass');
  result.changed.sort((a, b) => Number(a.entry.mtime) - Number(b.entry.mtime));
  return result;
}
