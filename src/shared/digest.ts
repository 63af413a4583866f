import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Digest } from '../model.js';

export function sha256(content: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

export const BYTES_DIGEST_LENGTH = 22;

/**
 * A short digest of exact bytes (132 bits of sha256, base64url): the state
 * remembers it so a recompile that wrote the same bytes is known unchanged
 * without parsing and canonicalising the profile (~20× the cost of hashing).
 */
export function bytesDigest(content: Uint8Array): string {
  return bytesDigests(content).short;
}

/** One hash of the bytes, both ways: `full` as sha256() writes it (what earlier releases recorded), `short` as bytesDigest(). */
export function bytesDigests(content: Uint8Array): { full: Digest; short: string } {
  const hash = createHash('sha256').update(content).digest();
  return { full: `sha256:${hash.toString('hex')}`, short: hash.toString('base64url').slice(0, BYTES_DIGEST_LENGTH) };
}

/** The id git gives a blob with these bytes, to compare without asking git. */
export function gitBlobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * A profile's digest: sha256 of its canonical JSON (object keys sorted by
 * UTF-16 code unit at every level, no insignificant whitespace, strings and
 * numbers as JSON.stringify writes them), so a recompile that only reorders
 * keys or changes the formatting has the digest it had. Bytes that are not
 * JSON (rejected later, naming the profile) are digested as they are.
 */
export function profileDigest(bytes: Uint8Array, text?: string): Digest {
  return digestProfileText(bytes, text).digest;
}

/** profileDigest, with the text and the parsed document kept (undefined when not JSON), so a caller does not parse it again. */
export function digestProfileText(bytes: Uint8Array, known?: string): { digest: Digest; text: string; document: unknown } {
  const text = known ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { digest: sha256(bytes), text, document: undefined };
  }
  try {
    return { digest: sha256(canonicalText(document)), text, document };
  } catch {
    // nested too deep to walk: digested as bytes
    return { digest: sha256(bytes), text, document };
  }
}

/**
 * canonicalJson's output, by the engine's own JSON.stringify over the value
 * with its keys in order (1.7× faster on the bench site: no string built
 * piece by piece). Pan writes nlists sorted, so a profile's objects are
 * usually in order already and nothing is copied. An index-like key ("7")
 * would be enumerated first by the engine whatever the order: the walk then
 * gives up and canonicalJson does the whole value.
 */
export function canonicalText(value: unknown): string {
  const ordered = inKeyOrder(value);
  return ordered === undefined ? canonicalJson(value) : JSON.stringify(ordered);
}

/** The value with every object's keys sorted (the same objects where they already are); undefined at an index-like key. */
function inKeyOrder(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item = inKeyOrder(value[index]);
      if (item === undefined) return undefined;
      if (item !== value[index]) (copy ??= value.slice())[index] = item;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let sorted = true;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    const first = key.charCodeAt(0);
    if (first >= 48 && first <= 57 && /^(?:0|[1-9]\d*)$/.test(key)) return undefined;
    if (index > 0 && keys[index - 1]! > key) sorted = false;
  }
  if (!sorted) keys.sort();
  let copy: Record<string, unknown> | undefined = sorted ? undefined : {};
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    const item = inKeyOrder(record[key]);
    if (item === undefined) return undefined;
    if (!copy && item !== record[key]) {
      copy = {};
      for (let before = 0; before < index; before++) copy[keys[before]!] = record[keys[before]!];
    }
    if (copy) copy[key] = item;
  }
  return copy ?? record;
}

/**
 * What a profile digest was before canonical digests: sha256 of the bytes.
 * State files and manifests written by earlier releases hold these; a record
 * equal to either digest of the same bytes is the same content.
 */
export function sameProfile(recorded: string | undefined, digest: Digest, bytes: Uint8Array | string, bytesSha256?: Digest): boolean {
  if (recorded === undefined || recorded === '') return false;
  return recorded === digest || recorded === (bytesSha256 ?? sha256(bytes));
}

/** The reference form: keys sorted by UTF-16 code unit, JSON.stringify's strings and numbers. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let index = 0; index < value.length; index++) out += (index ? ',' : '') + canonicalJson(value[index]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    out += `${index ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(record[key])}`;
  }
  return `${out}}`;
}

export { isUtf8 };
