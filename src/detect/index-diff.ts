import { SAFE_PROFILE_NAME, type IndexEntry } from './profile-index.js';

/**
 * Whether `entries` (the full parser's answer for `index`) is all `index` holds, line by
 * line: an optional `<?xml …?>` first line, `<profiles>`, one plain entry line per entry in
 * order, `</profiles>`, blank lines. Only such an index is remembered, so a diff against it
 * needs to read no line it does not change; and no name listed twice. Each line is compared
 * with the text its entry would have, on one latin1 string: 20,000 lines in a few ms.
 */
export function isPlainIndex(index: Buffer, entries: readonly IndexEntry[]): boolean {
  // A name listed twice breaks what a memo stands for (one record per matching entry), and how the state is pruned.
  if (new Set(entries.map((entry) => entry.name)).size !== entries.length) return false;
  const text = index.toString('latin1');
  let next = 0;
  for (let start = 0, line = 0; start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const entry = entries[next];
    if (entry && text.startsWith("<profile mtime='", start)) {
      // The parser's name and mtime, written back plainly: an entity, other quoting or spacing differs.
      const plain = `<profile mtime='${entry.mtime}'>${entry.name}</profile>`;
      if (end - start !== plain.length || !text.startsWith(plain, start)) return false;
      next++;
    } else if (!isFrameLine(text.slice(start, end), line)) {
      return false;
    }
    start = end + 1;
  }
  return next === entries.length && endsWithProfiles(index);
}

function isFrameLine(text: string, line: number): boolean {
  if (text === '' || text === '<profiles>' || text === '</profiles>') return true;
  // The XML declaration: first, and no other `<` or `>` in it.
  return line === 0 && text.startsWith('<?xml ') && text.endsWith('?>') && text.indexOf('<', 1) < 0 && text.indexOf('>') === text.length - 1;
}

function endsWithProfiles(index: Buffer): boolean {
  let end = index.length;
  while (end > 0 && index[end - 1] === 10) end--;
  return index.toString('latin1', Math.max(0, end - '</profiles>'.length), end) === '</profiles>';
}

const OPEN = Buffer.from("<profile mtime='", 'latin1');
const MIDDLE = Buffer.from("'>", 'latin1');
const CLOSE = Buffer.from('</profile>', 'latin1');

/** `<profile mtime='N'>NAME</profile>` exactly, NAME a safe profile name written without references; undefined for anything else. */
export function plainEntry(bytes: Buffer, start: number, end: number): IndexEntry | undefined {
  if (end - start < OPEN.length + MIDDLE.length + CLOSE.length + 2) return undefined;
  if (bytes.compare(OPEN, 0, OPEN.length, start, start + OPEN.length) !== 0) return undefined;
  if (bytes.compare(CLOSE, 0, CLOSE.length, end - CLOSE.length, end) !== 0) return undefined;
  let at = start + OPEN.length;
  while (at < end && bytes[at]! >= 48 && bytes[at]! <= 57) at++;
  const digits = at - start - OPEN.length;
  if (digits < 1 || digits > 20 || bytes.compare(MIDDLE, 0, MIDDLE.length, at, at + MIDDLE.length) !== 0) return undefined;
  const mtime = bytes.toString('latin1', start + OPEN.length, at);
  const nameStart = at + MIDDLE.length;
  const nameEnd = end - CLOSE.length;
  for (let index = nameStart; index < nameEnd; index++) if (!isNameByte(bytes[index]!)) return undefined;
  const name = bytes.toString('latin1', nameStart, nameEnd);
  return SAFE_PROFILE_NAME.test(name) ? { name, mtime } : undefined;
}

/** Letters, digits and `_ . @ + - /`: SAFE_PROFILE_NAME's alphabet (it checks the rest). */
function isNameByte(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 46 || code === 64 || code === 43 || code === 45 || code === 47;
}

export interface IndexDelta {
  /** Entries of the old index not in the new one, in order (a changed line is one removed and one added). */
  removed: IndexEntry[];
  added: IndexEntry[];
}

const CHUNK = 4096;
/** Lines looked ahead for a host added or removed before the two indexes are taken as out of step. */
const LOOKAHEAD = 8;

/**
 * The lines of `next` that are not in `old` and those of `old` that are not in `next`, by
 * comparing the two byte for byte (4 KiB at a time where they agree) and reading only the
 * lines where they differ. Undefined when a differing line is not a plain entry line, when
 * `next` does not end with `</profiles>`, or when more than `limit` lines differ: the caller
 * then parses the whole index. The delta need not be minimal, only complete: every line of
 * both is either in step with the other side or listed.
 */
export function diffIndex(old: Buffer, next: Buffer, limit: number): IndexDelta | undefined {
  if (!endsWithProfiles(next)) return undefined;
  const removed: IndexEntry[] = [];
  const added: IndexEntry[] = [];
  // Line starts where both sides were last in step; everything from there to (i, j) is equal.
  let syncOld = 0;
  let syncNew = 0;
  let i = 0;
  let j = 0;
  const take = (into: IndexEntry[], bytes: Buffer, start: number): number | undefined => {
    const end = lineEnd(bytes, start);
    const entry = plainEntry(bytes, start, end);
    if (!entry) return undefined;
    into.push(entry);
    return end + 1;
  };
  while (i < old.length || j < next.length) {
    if (removed.length + added.length > limit) return undefined;
    const n = Math.min(CHUNK, old.length - i, next.length - j);
    if (n > 0 && old.compare(next, j, j + n, i, i + n) === 0) {
      i += n;
      j += n;
      continue;
    }
    const k = firstDifference(old, i, next, j, n);
    // Back to the start of the line that differs: the same distance from the last sync on both sides.
    const from = i + k;
    const newlineBefore = from > syncOld ? old.lastIndexOf(10, from - 1) : -1;
    const a = newlineBefore >= syncOld ? newlineBefore + 1 : syncOld;
    const b = syncNew + (a - syncOld);
    let nextA: number | undefined = a;
    let nextB: number | undefined = b;
    if (a >= old.length) {
      nextB = take(added, next, b);
    } else if (b >= next.length) {
      nextA = take(removed, old, a);
    } else {
      const oldLine = old.subarray(a, lineEnd(old, a));
      const newLine = next.subarray(b, lineEnd(next, b));
      const inserted = findLine(next, b, oldLine);
      const deleted = inserted < 0 ? findLine(old, a, newLine) : -1;
      if (inserted > 0) {
        for (let at: number | undefined = b; at !== undefined && at < inserted; ) nextB = at = take(added, next, at);
      } else if (deleted > 0) {
        for (let at: number | undefined = a; at !== undefined && at < deleted; ) nextA = at = take(removed, old, at);
      } else {
        // Changed in place (a new mtime, or one host for another).
        nextA = take(removed, old, a);
        nextB = take(added, next, b);
      }
    }
    if (nextA === undefined || nextB === undefined) return undefined;
    i = syncOld = Math.min(nextA, old.length);
    j = syncNew = Math.min(nextB, next.length);
  }
  return removed.length + added.length > limit ? undefined : { removed, added };
}

/** Where `old` from `i` and `next` from `j` first differ within `n` bytes (n when they do not): bisection, then bytes. */
function firstDifference(old: Buffer, i: number, next: Buffer, j: number, n: number): number {
  let low = 0;
  let high = n;
  while (high - low > 64) {
    const middle = (low + high) >>> 1;
    if (old.compare(next, j + low, j + middle, i + low, i + middle) === 0) low = middle;
    else high = middle;
  }
  while (low < high && old[i + low] === next[j + low]) low++;
  return low;
}

function lineEnd(bytes: Buffer, start: number): number {
  const end = bytes.indexOf(10, start);
  return end < 0 ? bytes.length : end;
}

/** The start of the first of the LOOKAHEAD lines after the one at `start` that equals `line`, else -1. */
function findLine(bytes: Buffer, start: number, line: Buffer): number {
  let at = lineEnd(bytes, start) + 1;
  for (let step = 0; step < LOOKAHEAD && at < bytes.length; step++) {
    const end = lineEnd(bytes, at);
    if (end - at === line.length && bytes.compare(line, 0, line.length, at, end) === 0) return at;
    at = end + 1;
  }
  return -1;
}
