import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Digest } from '../model.js';

export function sha256(content: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
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
  return sha256(canonicalOf(bytes, text) ?? bytes);
}

/** Parse, sort, serialise; undefined for bytes that are not JSON (or nest too deep to walk). */
export function canonicalOf(bytes: Uint8Array, text?: string): string | undefined {
  try {
    return canonicalJson(JSON.parse(text ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')));
  } catch {
    return undefined;
  }
}

/**
 * What a profile digest was before canonical digests: sha256 of the bytes.
 * State files and manifests written by earlier releases hold these; a record
 * equal to either digest of the same bytes is the same content.
 */
export function sameProfile(recorded: string | undefined, digest: Digest, bytes: Uint8Array | string): boolean {
  if (recorded === undefined || recorded === '') return false;
  return recorded === digest || recorded === sha256(bytes);
}

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
