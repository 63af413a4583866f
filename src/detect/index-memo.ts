import { createHash } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * The index of the last clean queue-mode pass, kept in the state dir so the next pass reads
 * only the lines that differ (cdp-listend calls `detect` after every `aq make`: ten changed
 * hosts of 20,000 should not cost a parse of the whole index and a read of the whole state).
 * It is a cache and strictly conservative: it is used only when the state files are exactly
 * those it was written beside (size and mtime of the snapshot and the journal), for
 * the same index source and match, and when every line that differs is one plain
 * `<profile mtime='N'>NAME</profile>` line; anything else is the full path.
 */

const MEMO = 'detector-index.memo';
const HEADER = /^# packuilon index memo v1 key=([0-9a-f]{64}) snapshot=(\S+) journal=(\S+) records=(\d+) entries=(\d+) matched=(\d+) bytes=(\d+)$/;

export interface IndexMemo {
  /** The index as the last clean pass read it. */
  index: Buffer;
  /** The state files' sizes and mtimes it was written beside. */
  identity: string;
  /** Records in the state then: every matched entry of `index`, at its mtime. */
  records: number;
  entries: number;
  matched: number;
}

/** What the memo is valid for: the index's source and the match; a change of either is the full path. */
export function memoKey(source: string, match: string, matchRegex: string | undefined): string {
  return createHash('sha256').update(JSON.stringify([source, match, matchRegex ?? null])).digest('hex');
}

/** The memo, when it was written beside the state files as they are now; undefined otherwise. */
export async function findIndexMemo(stateDir: string, key: string): Promise<IndexMemo | undefined> {
  const [bytes, identity] = await Promise.all([readFile(join(stateDir, MEMO)).catch(() => undefined), stateIdentity(stateDir)]);
  if (!bytes) return undefined;
  const newline = bytes.indexOf(10);
  const header = newline > 0 ? HEADER.exec(bytes.toString('latin1', 0, newline)) : null;
  if (!header || header[1] !== key || `${header[2]} ${header[3]}` !== identity) return undefined;
  const index = bytes.subarray(newline + 1);
  const [records, entries, matched] = [Number(header[4]), Number(header[5]), Number(header[6])];
  // Cut short (a crash while it was written), or a state that does not hold exactly the matched entries.
  if (index.length !== Number(header[7]) || records !== matched) return undefined;
  return { index, identity, records, entries, matched };
}

/**
 * Keep `index` as the memo of a clean pass whose state is saved (rememberPass checks that the
 * index is plain); a state with other than one record per matching entry removes the memo.
 */
export async function rememberIndex(
  stateDir: string,
  key: string,
  index: Buffer,
  counts: { records: number; entries: number; matched: number },
  /** The memo as it is, when this index is the same: no write while the state files are those it names. */
  same?: IndexMemo,
): Promise<void> {
  const path = join(stateDir, MEMO);
  if (counts.records !== counts.matched) return rm(path, { force: true });
  const identity = await stateIdentity(stateDir);
  if (same && same.identity === identity) return;
  const header = `# packuilon index memo v1 key=${key} snapshot=${identity.replace(' ', ' journal=')} records=${counts.records} entries=${counts.entries} matched=${counts.matched} bytes=${index.length}\n`;
  // No fsync: a memo lost or cut by a crash fails its checks and the next pass takes the full path.
  const temp = `${path}.tmp`;
  await writeFile(temp, Buffer.concat([Buffer.from(header, 'latin1'), index]));
  await rename(temp, path);
}

async function stateIdentity(stateDir: string): Promise<string> {
  const [snapshot, journal] = await Promise.all(['detector-state.tsv', 'detector-state.journal'].map((name) => fileIdentity(join(stateDir, name))));
  return `${snapshot} ${journal}`;
}

async function fileIdentity(path: string): Promise<string> {
  const info = await stat(path, { bigint: true }).catch(() => undefined);
  // Not the inode: a copy made with `cp -a` (a backup restored) is the same state.
  return info ? `${info.size}:${info.mtimeNs}` : 'none';
}
