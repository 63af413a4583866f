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

  static of(entries: Iterable<[string, ProfileState]>): DetectorState {
    const state = new DetectorState();
    for (const [name, record] of entries) state.records.set(name, formatRecord(record));
    return state;
  }

  get size(): number {
    return this.records.size;
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
  const text = await readOptional(snapshotPath);
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
  let journalLines = 0;
  const journalPath = join(stateDir, JOURNAL);
  const journal = (await readOptional(journalPath))?.split('\n');
  if (journal && Number(JOURNAL_HEADER.exec(journal[0] ?? '')?.[1]) === generation) {
    for (let index = 1; index < journal.length; index++) {
      const line = journal[index]!;
      if (line === '' && index === journal.length - 1) break;
      // Only the last line can be torn by a crash mid-append; its pass is redone.
      if (!state.applyLine(line)) {
        // A torn tail is never appended to: the next save writes a snapshot.
        if (index === journal.length - 1) return { state, exists: true, generation, journalLines: Number.MAX_SAFE_INTEGER, byteDigests };
        damaged(`${journalPath}:${index + 1}`, 'unreadable line');
      }
      journalLines++;
    }
  }
  return { state, exists: true, generation, journalLines, byteDigests };
}

/** Save what changed since it was read: nothing, else journal lines, else a new snapshot. Each step is durable before it returns. */
export async function saveState(stateDir: string, file: StateFile): Promise<void> {
  const next = file.state;
  const changes = next.changeLines();
  if (file.exists && changes.length === 0 && !file.byteDigests) return;
  if (file.exists && !file.byteDigests && file.journalLines + changes.length <= Math.max(1000, next.size / 4)) {
    await appendDurably(join(stateDir, JOURNAL), file.journalLines === 0 ? [`# packuilon detector journal generation ${file.generation}`, ...changes] : changes, file.journalLines === 0);
    return;
  }
  const generation = file.generation + 1;
  // v2: digests of canonical JSON (v1 held digests of the bytes); v3: a bytes digest may follow the outcome.
  const lines = [`# packuilon detector state v3 generation ${generation}: name\tmtime\tdigest\toutcome\tbytes`];
  lines.push(...next.lines());
  lines.push('');
  await writeFileAtomic(join(stateDir, SNAPSHOT), lines.join('\n'));
  await rm(join(stateDir, JOURNAL), { force: true });
}

async function appendDurably(path: string, lines: string[], fresh: boolean): Promise<void> {
  const handle = await open(path, fresh ? 'w' : 'a', 0o644);
  try {
    await handle.writeFile(`${lines.join('\n')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`${path}: cannot read detector state: ${(error as Error).message}`);
  }
}

function damaged(where: string, why: string): never {
  throw new ConfigError(`${where}: detector state is damaged (${why}); move ${SNAPSHOT} and ${JOURNAL} away and run detect --baseline`);
}
