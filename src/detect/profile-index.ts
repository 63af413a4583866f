import { TransientError } from '../shared/errors.js';

export interface IndexEntry {
  name: string;
  /** Aquilon's mtime attribute: changes on every recompile, not only on content change. */
  mtime: string;
}

/**
 * Names end up in URLs, paths and commit trailers: segments of letters, digits
 * and `_ . @ + -` (Aquilon puts cluster profiles under `clusters/`), no `..`.
 */
export const SAFE_PROFILE_NAME = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,254}(?:\/[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,254}){0,3}$/;

/** Longer attributes or names than Aquilon ever writes make the entry invalid without being looked at (bounds the work per entry). */
const MAX_ATTRIBUTES = 1024;
const MAX_NAME = 1024;

/**
 * Parse Aquilon's profiles-info.xml: `<profiles>` with one
 * `<profile mtime='N'>NAME</profile>` per host. A general XML parser took
 * 210 ms on 20,000 entries here; this machine-written, flat format needs one
 * scan. The scan is by `indexOf` with the positions of the next `>` and `<`
 * remembered, so every character is looked at a bounded number of times
 * whatever the index holds (a regular expression over unterminated tags went
 * quadratic: minutes for 100,000 `<profile ` tags). An entry that cannot be
 * read (a bad name, mtime or character reference) is that entry's problem,
 * listed in `invalid`; the other entries are read.
 */
export function parseProfileIndex(source: string, xml: string): { entries: IndexEntry[]; invalid: string[] } {
  if (!isCompleteIndex(xml)) {
    // A truncated index would look like a mass deletion; refuse it.
    throw new TransientError(`${source}: not a complete profiles-info.xml (no <profiles> … </profiles>)`);
  }
  const entries: IndexEntry[] = [];
  const invalid: string[] = [];
  const nextGt = forward(xml, '>');
  const nextLt = forward(xml, '<');
  let from = 0;
  for (;;) {
    const open = xml.indexOf('<profile', from);
    if (open < 0) break;
    from = open + 1;
    const afterName = open + '<profile'.length;
    if (isWordChar(xml.charCodeAt(afterName))) continue; // <profiles>, <profilex
    const gt = nextGt(afterName);
    if (gt < 0) break; // no `>` anywhere after: no later tag can be complete either
    const lt = nextLt(gt + 1);
    if (lt < 0) break;
    const close = closingTagEnd(xml, lt);
    if (close < 0) continue;
    from = close;
    const attributes = xml.slice(afterName, gt);
    const raw = xml.slice(gt + 1, lt).trim();
    if (attributes.length > MAX_ATTRIBUTES || raw.length > MAX_NAME) {
      invalid.push(`${raw.slice(0, 80)}${raw.length > 80 ? '…' : ''}`);
      continue;
    }
    const name = decodeEntities(raw);
    const seconds = mtimeOf(attributes);
    if (name === undefined || !SAFE_PROFILE_NAME.test(name) || !/^\d{1,20}$/.test(seconds)) {
      invalid.push(name ?? raw);
      continue;
    }
    entries.push({ name, mtime: seconds });
  }
  return { entries, invalid };
}

/** `indexOf(char, from)` for non-decreasing `from`, remembering the last answer: linear over all calls. */
function forward(text: string, char: string): (from: number) => number {
  let found = -2;
  return (from) => {
    if (found === -1 || found >= from) return found;
    found = text.indexOf(char, from);
    return found;
  };
}

/** The value of the first readable `mtime='…'` (or `"…"`) attribute, '' when none. */
function mtimeOf(attributes: string): string {
  for (let at = attributes.indexOf('mtime'); at >= 0; at = attributes.indexOf('mtime', at + 1)) {
    if (at > 0 && isWordChar(attributes.charCodeAt(at - 1))) continue;
    let index = at + 'mtime'.length;
    while (isSpace(attributes.charCodeAt(index))) index++;
    if (attributes[index] !== '=') continue;
    index++;
    while (isSpace(attributes.charCodeAt(index))) index++;
    const quote = attributes[index];
    if (quote !== "'" && quote !== '"') continue;
    const end = attributes.indexOf(quote, index + 1);
    if (end < 0) return '';
    return attributes.slice(index + 1, end);
  }
  return '';
}

function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/** The end of `</profile\s*>` starting at `at`, or -1. */
function closingTagEnd(xml: string, at: number): number {
  if (!xml.startsWith('</profile', at)) return -1;
  let index = at + '</profile'.length;
  while (index < xml.length && isSpace(xml.charCodeAt(index)) && index - at < 64) index++;
  return xml.charCodeAt(index) === 62 ? index + 1 : -1;
}

/** `<profiles …>` somewhere and `</profiles>` at the end (trailing space allowed), checked without a regular expression. */
function isCompleteIndex(xml: string): boolean {
  let end = xml.length;
  while (end > 0 && isSpace(xml.charCodeAt(end - 1))) end--;
  if (xml.charCodeAt(end - 1) !== 62) return false;
  end--;
  while (end > 0 && isSpace(xml.charCodeAt(end - 1))) end--;
  if (!xml.startsWith('</profiles', end - '</profiles'.length)) return false;
  for (let at = xml.indexOf('<profiles'); at >= 0; at = xml.indexOf('<profiles', at + 1)) {
    const after = xml.charCodeAt(at + '<profiles'.length);
    // The first candidate decides: a `>` after it exists (the closing tag's), so no further search is needed.
    if (!isWordChar(after)) return at + '<profiles'.length <= end - '</profiles'.length;
  }
  return false;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's five entities and numeric character references; undefined when a reference names no character XML allows. */
function decodeEntities(text: string): string | undefined {
  if (!text.includes('&')) return text;
  let bad = false;
  const decoded = text.replace(/&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|[a-zA-Z]{1,8});/g, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      if (!isXmlChar(code)) {
        bad = true;
        return whole;
      }
      return String.fromCodePoint(code);
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
  // A reference too long for the pattern (`&#99999999999999999999;`) is left as text; SAFE_PROFILE_NAME refuses `&` and `#`.
  return bad ? undefined : decoded;
}

/** XML 1.0's Char production: no NUL, no C0 controls but tab/newline/CR, no surrogates, nothing above U+10FFFF. */
function isXmlChar(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code < 0x20) return code === 0x9 || code === 0xa || code === 0xd;
  if (code >= 0xd800 && code <= 0xdfff) return false;
  if (code === 0xfffe || code === 0xffff) return false;
  return code <= 0x10ffff;
}

export interface Matcher {
  (name: string): boolean;
}

/** The seed's PROFILE_MATCH substring, and an optional regular expression. */
export function createMatcher(match: string, matchRegex?: string): Matcher {
  const regex = matchRegex ? new RegExp(matchRegex) : undefined;
  return (name) => name.includes(match) && (!regex || regex.test(name));
}
