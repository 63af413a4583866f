import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/fs.js';
import { BYTES_DIGEST_LENGTH } from '../shared/digest.js';
import { ConfigError } from '../shared/errors.js';

/** What the detector last handed on for a profile. A cache: git and the broker hold the truth. */
export interface ProfileState {
  mtime: string;
  digest: string;
  /** committed / unchanged: in git; published: confirmed by the broker; rejected / skipped: handled, not retried until it changes. */
  outcome: 'committed' | 'unchanged' | 'published' | 'rejected' | 'skipped' | 'baseline';
  /** bytesDigest of the bytes last seen (absent in records of earlier releases): same bytes, same content. */
  bytes?: string;
}

/**
 * Profile name → its record, kept as the state file's text (`mtime\tdigest\toutcome[\tbytes]`),
 * changed in place during a pass with the first value of each changed name
 * remembered: 20,000 hosts are read and compared every pass, and saving then
 * touches only what changed.
 */
export class DetectorState {
  private readonly records = new Map<string, string>();
  /** Names changed this pass → their record before the pass (undefined: none). */
  private readonly before = new Map<string, string | undefined>();
  /** A state read for some names only (readStateRecords): how many records the whole state holds. */
  private partialSize: number | undefined;

  static partial(size: number): DetectorState {
    const state = new DetectorState();
    state.partialSize = size;
    return state;
  }

  get partial(): boolean {
    return this.partialSize !== undefined;
  }

  static of(entries: Iterable<[string, ProfileState]>): DetectorState {
    const state = new DetectorState();
    for (const [name, record] of entries) state.records.set(name, formatRecord(record));
    return state;
  }

  get size(): number {
    if (this.partialSize === undefined) return this.records.size;
    let size = this.partialSize;
    for (const [name, old] of this.before) size += Number(this.records.has(name)) - Number(old !== undefined);
    return size;
  }

  get(name: string): ProfileState | undefined {
    const text = this.records.get(name);
    if (text === undefined) return undefined;
    const [mtime = '', digest = '', outcome, bytes] = text.split('\t');
    return { mtime, digest, outcome: outcome as ProfileState['outcome'], ...(bytes ? { bytes } : {}) };
  }

  set(name: string, record: ProfileState): void {
    this.remember(name);
    this.records.set(name, formatRecord(record));
  }

  delete(name: string): void {
    this.remember(name);
    this.records.delete(name);
  }

  names(): IterableIterator<string> {
    this.assertWhole('names');
    return this.records.keys();
  }

  /** One lookup per entry: those whose record was not taken at their index mtime, and how many have a record at all. */
  partition(entries: readonly { name: string; mtime: string }[]): { moved: { name: string; mtime: string }[]; known: number } {
    const moved: { name: string; mtime: string }[] = [];
    let known = 0;
    for (const entry of entries) {
      const text = this.records.get(entry.name);
      if (text === undefined) {
        moved.push(entry);
        continue;
      }
      known++;
      if (!(text.startsWith(entry.mtime) && text.charCodeAt(entry.mtime.length) === 9)) moved.push(entry);
    }
    return { moved, known };
  }

  /** State-file lines for what changed this pass (`name\t-` for a removal). */
  changeLines(): string[] {
    const lines: string[] = [];
    for (const [name, old] of this.before) {
      const now = this.records.get(name);
      if (now !== old) lines.push(now === undefined ? `${name}\t-` : `${name}\t${now}`);
    }
    return lines;
  }

  lines(): string[] {
    this.assertWhole('lines');
    return [...this.records.keys()].sort().map((name) => `${name}\t${this.records.get(name)!}`);
  }

  /** Apply one state-file line while reading; false when it cannot be read. */
  applyLine(line: string): boolean {
    const tab = line.indexOf('\t');
    if (tab <= 0) return false;
    const name = line.slice(0, tab);
    const text = line.slice(tab + 1);
    if (text === '-') {
      this.records.delete(name);
      return true;
    }
    // mtime \t digest \t outcome, and since v3 \t bytes
    const second = text.indexOf('\t', text.indexOf('\t') + 1);
    if (second < 0) return false;
    const third = text.indexOf('\t', second + 1);
    if (!OUTCOMES.has(third < 0 ? text.slice(second + 1) : text.slice(second + 1, third))) return false;
    if (third >= 0 && text.length - third - 1 !== BYTES_DIGEST_LENGTH) return false;
    this.records.set(name, text);
    return true;
  }

  private assertWhole(what: string): void {
    if (this.partialSize !== undefined) throw new Error(`DetectorState.${what}(): this state was read for some names only`);
  }

  private remember(name: string): void {
    if (!this.before.has(name)) this.before.set(name, this.records.get(name));
  }
}

function formatRecord({ mtime, digest, outcome, bytes }: ProfileState): string {
  return bytes ? `${mtime}\t${digest}\t${outcome}\t${bytes}` : `${mtime}\t${digest}\t${outcome}`;
}

/** The state as read, with what saving needs to write only the difference. */
export interface StateFile {
  state: DetectorState;
  exists: boolean;
  generation: number;
  journalLines: number;
  /** Written by a release that digested profile bytes (snapshot v1): the next pass downloads every profile once to record canonical digests. */
  byteDigests: boolean;
}

const SNAPSHOT = 'detector-state.tsv';
const JOURNAL = 'detector-state.journal';
const SNAPSHOT_HEADER = /^# packuilon detector state v([123]) generation (\d+): name\tmtime\tdigest\toutcome(?:\tbytes)?$/;
const JOURNAL_HEADER = /^# packuilon detector journal generation (\d+)$/;
const OUTCOMES = new Set<string>(['committed', 'unchanged', 'published', 'rejected', 'skipped', 'baseline']);

/*
 * One line per profile, tab-separated (names hold no tabs or newlines): a
 * snapshot, plus a journal of the lines that changed since. A pass that changed
 * ten profiles of 20,000 appends ten lines instead of rewriting the file; the
 * snapshot is rewritten when the journal grows past a quarter of it. A journal
 * of another generation (left by a crash between the two) is ignored.
 */
export async function readState(stateDir: string): Promise<StateFile> {
  const snapshotPath = join(stateDir, SNAPSHOT);
  const text = await readOptional(snapshotPath, 'utf8');
  if (text === undefined) return { state: new DetectorState(), exists: false, generation: 0, journalLines: 0, byteDigests: false };
  const lines = text.split('\n');
  const header = SNAPSHOT_HEADER.exec(lines[0] ?? '');
  const generation = Number(header?.[2]);
  const byteDigests = header?.[1] === '1';
  if (!Number.isInteger(generation) || lines[lines.length - 1] !== '') damaged(snapshotPath, 'unknown header or cut short');
  const state = new DetectorState();
  for (let index = 1; index < lines.length - 1; index++) {
    if (!state.applyLine(lines[index]!)) damaged(`${snapshotPath}:${index + 1}`, 'unreadable line');
  }
  const journalLines = await applyJournal(stateDir, generation, state);
  return { state, exists: true, generation, journalLines, byteDigests };
}

/**
 * The records of `names` alone, found by binary search in the sorted snapshot, with the
 * journal on top: what a queue-mode pass that knows which entries moved (index-memo.ts)
 * needs, without reading 20,000 records into a map. `size`: the whole state's, as the memo
 * recorded it. Undefined when the snapshot is not one this release can search (a v1
 * snapshot of byte digests): the caller reads the whole state.
 */
export async function readStateRecords(stateDir: string, names: Iterable<string>, size: number, snapshot?: Promise<string | undefined>): Promise<StateFile | undefined> {
  const snapshotPath = join(stateDir, SNAPSHOT);
  const wanted = new Set(names);
  const text = await (snapshot ?? readSnapshotText(stateDir));
  if (text === undefined) return undefined;
  const headerEnd = text.indexOf('\n');
  const header = SNAPSHOT_HEADER.exec(text.slice(0, Math.max(headerEnd, 0)));
  const generation = Number(header?.[2]);
  if (!header || header[1] === '1' || !Number.isInteger(generation) || !text.endsWith('\n')) return undefined;
  const state = DetectorState.partial(size);
  for (const name of wanted) {
    const line = findRecordLine(text, headerEnd + 1, name);
    if (line !== undefined && !state.applyLine(line)) damaged(snapshotPath, `unreadable line for ${name}`);
  }
  const journalLines = await applyJournal(stateDir, generation, state, wanted);
  return { state, exists: true, generation, journalLines, byteDigests: false };
}

/** The snapshot as readStateRecords searches it (queue mode reads it while the index downloads); undefined when there is none. */
export function readSnapshotText(stateDir: string): Promise<string | undefined> {
  // latin1: one byte per character, decoded at memcpy speed; names and records are ASCII.
  return readOptional(join(stateDir, SNAPSHOT), 'latin1');
}

/** The line `name\t…` of a snapshot sorted by name (from `start`), by bisection over line starts. */
function findRecordLine(text: string, start: number, name: string): string | undefined {
  let low = start;
  let high = text.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const newline = middle > low ? text.lastIndexOf('\n', middle - 1) : -1;
    const lineStart = newline >= low ? newline + 1 : low;
    const lineEnd = text.indexOf('\n', lineStart);
    const tab = text.indexOf('\t', lineStart);
    if (lineEnd < 0 || tab < 0 || tab > lineEnd) return undefined;
    // The lines are sorted by name (DetectorState.lines).
    const lineName = text.slice(lineStart, tab);
    if (lineName === name) return text.slice(lineStart, lineEnd);
    if (lineName < name) low = lineEnd + 1;
    else high = lineStart;
  }
  return undefined;
}

/** The journal of this generation applied to `state` (only the lines of `wanted` names, when given); how many lines it holds. */
async function applyJournal(stateDir: string, generation: number, state: DetectorState, wanted?: Set<string>): Promise<number> {
  let journalLines = 0;
  const journalPath = join(stateDir, JOURNAL);
  const journal = (await readOptional(journalPath, 'utf8'))?.split('\n');
  if (!journal || Number(JOURNAL_HEADER.exec(journal[0] ?? '')?.[1]) !== generation) return 0;
  const scratch = wanted ? new DetectorState() : state;
  for (let index = 1; index < journal.length; index++) {
    const line = journal[index]!;
    if (line === '' && index === journal.length - 1) break;
    const into = wanted && !wanted.has(line.slice(0, line.indexOf('\t'))) ? scratch : state;
    // Only the last line can be torn by a crash mid-append; its pass is redone.
    if (!into.applyLine(line)) {
      // A torn tail is never appended to: the next save writes a snapshot.
      if (index === journal.length - 1) return Number.MAX_SAFE_INTEGER;
      damaged(`${journalPath}:${index + 1}`, 'unreadable line');
    }
    journalLines++;
  }
  return journalLines;
}

/**
 * Save what changed since it was read: nothing, else journal lines, else a new snapshot. Each
 * step is durable before it returns. `whenWritten` runs once the files hold their new bytes,
 * alongside the journal's fsync (the index memo, which names the files by size and mtime).
 */
export async function saveState(stateDir: string, file: StateFile, whenWritten?: () => Promise<void>): Promise<void> {
  const next = file.state;
  const changes = next.changeLines();
  if (file.exists && changes.length === 0 && !file.byteDigests) return whenWritten?.();
  if (file.exists && !file.byteDigests && file.journalLines + changes.length <= Math.max(1000, next.size / 4)) {
    await appendDurably(join(stateDir, JOURNAL), file.journalLines === 0 ? [`# packuilon detector journal generation ${file.generation}`, ...changes] : changes, file.journalLines === 0, whenWritten);
    return;
  }
  const generation = file.generation + 1;
  // A state read for some names: the whole one now, with this pass's changes on top.
  let whole = next;
  if (next.partial) {
    whole = (await readState(stateDir)).state;
    for (const line of changes) if (!whole.applyLine(line)) throw new Error(`detector state: cannot apply ${line}`);
  }
  // v2: digests of canonical JSON (v1 held digests of the bytes); v3: a bytes digest may follow the outcome.
  const lines = [`# packuilon detector state v3 generation ${generation}: name\tmtime\tdigest\toutcome\tbytes`];
  lines.push(...whole.lines());
  lines.push('');
  await writeFileAtomic(join(stateDir, SNAPSHOT), lines.join('\n'));
  await rm(join(stateDir, JOURNAL), { force: true });
  await whenWritten?.();
}

async function appendDurably(path: string, lines: string[], fresh: boolean, whenWritten?: () => Promise<void>): Promise<void> {
  const handle = await open(path, fresh ? 'w' : 'a', 0o644);
  try {
    await handle.writeFile(`${lines.join('\n')}\n`);
    // The size and mtime are final once written; the fsync is the disk's time, not ours.
    await Promise.all([handle.sync(), whenWritten?.()]);
  } finally {
    await handle.close();
  }
}

async function readOptional(path: string, encoding: 'utf8' | 'latin1'): Promise<string | undefined> {
  try {
    return await readFile(path, encoding);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`${path}: cannot read detector state: ${(error as Error).message}`);
  }
}

function damaged(where: string, why: string): never {
  throw new ConfigError(`${where}: detector state is damaged (${why}); move ${SNAPSHOT} and ${JOURNAL} away and run detect --baseline`);
}
