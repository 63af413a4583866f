import { diffIndex, isPlainIndex } from './index-diff.js';
import { findIndexMemo, rememberIndex, type IndexMemo } from './index-memo.js';
import type { IndexEntry, Matcher } from './profile-index.js';
import type { ProfileSource } from './profile-source.js';
import { planFromDelta, planFromListing, type ScanPlan } from './scan.js';
import { readSnapshotText, readState, readStateRecords, type StateFile } from './state.js';
import type { Logger } from '../shared/log.js';

export interface PassPlan {
  stateFile: StateFile;
  plan: ScanPlan;
  /** The index as read, when there is one (a directory's listing has none). */
  index: Buffer | undefined;
  /** The whole index's entries; undefined when the pass planned from the lines that changed. */
  entries: IndexEntry[] | undefined;
  /** The memo it planned from, when the index had not changed since. */
  sameAs?: IndexMemo;
}

/**
 * Read the index and the state and decide what to download. With `memoKey` (queue mode),
 * from the lines that changed since the last clean pass when its memo still holds, reading
 * only those lines' records; otherwise, and whenever the memo is missing, stale or the
 * change is not a plain one, from the whole index and state.
 */
export async function planPass(options: { source: ProfileSource; matcher: Matcher; stateDir: string; log: Logger; memoKey?: string; all?: boolean }): Promise<PassPlan> {
  const { source, matcher, stateDir, log } = options;
  const reading = source.readIndex();
  reading.catch(() => undefined);
  const key = options.all ? undefined : options.memoKey;
  const memo = key ? await findIndexMemo(stateDir, key) : undefined;
  // While the index downloads: with a memo, the snapshot the changed lines' records are looked up in; without, the whole state.
  const snapshot = memo ? readSnapshotText(stateDir) : undefined;
  snapshot?.catch(() => undefined);
  const wholeState = memo ? undefined : readState(stateDir);
  wholeState?.catch(() => undefined);
  const index = await reading;
  log.debug({ bytes: index?.length, memo: memo !== undefined }, 'index downloaded');
  if (memo && index) {
    // Up to a tenth of the entries changed (each a removed and an added line); beyond that the whole parse is as quick.
    const delta = diffIndex(memo.index, index, Math.max(2000, memo.entries / 5));
    const names = delta && new Set([...delta.removed, ...delta.added].map((entry) => entry.name));
    const stateFile = names && (await readStateRecords(stateDir, names, memo.records, snapshot));
    const plan = delta && stateFile && planFromDelta(delta, memo, matcher, stateFile.state);
    if (plan && stateFile) {
      log.debug({ removed: delta.removed.length, added: delta.added.length }, 'index diffed against the last pass');
      return { stateFile, plan, index, entries: undefined, ...(delta.removed.length + delta.added.length === 0 ? { sameAs: memo } : {}) };
    }
    log.debug({}, 'index memo not usable for this index: reading the whole index and state');
  }
  const [stateFile, listing] = await Promise.all([wholeState ?? readState(stateDir), source.listProfiles(index)]);
  return { stateFile, plan: planFromListing(listing, matcher, stateFile.state, (options.all ?? false) || stateFile.byteDigests), index, entries: listing.entries };
}

/**
 * After a clean pass whose state is saved (every moved entry recorded, no entry unreadable):
 * the index is the memo of the next pass, when it is plain enough to be diffed. A pass that
 * was not clean leaves the memo as it was: it still describes the state if nothing was saved,
 * and it no longer matches the state files if something was.
 */
export async function rememberPass(options: { stateDir: string; memoKey: string; pass: PassPlan }): Promise<void> {
  const { pass } = options;
  if (!pass.index) return;
  if (pass.entries && !isPlainIndex(pass.index, pass.entries)) return;
  await rememberIndex(options.stateDir, options.memoKey, pass.index, { records: pass.stateFile.state.size, entries: pass.plan.listed, matched: pass.plan.matched }, pass.sameAs);
}
