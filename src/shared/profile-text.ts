import { isUtf8 } from 'node:buffer';
import { ConfigError, InputError } from './errors.js';

/**
 * A profile's bytes as text. Bytes that are not UTF-8 are bad input, named by
 * the field that holds them: decoding them would put U+FFFD into a commit.
 */
export function profileText(name: string, bytes: Buffer): string {
  assertUtf8Profile(name, bytes);
  return bytes.toString('utf8');
}

/** As profileText, without decoding (an unchanged profile's text is never needed). */
export function assertUtf8Profile(name: string, bytes: Buffer): void {
  if (isUtf8(bytes)) return;
  const offset = firstInvalidByte(bytes);
  const where = `invalid UTF-8 (byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at offset ${offset})`;
  throw new InputError(name, fieldOf(bytes, offset), where);
}

/** A file of the site (template, map, manifest) as text; bytes that are not UTF-8 are a config error naming the file. */
export function fileText(where: string, bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  const offset = firstInvalidByte(bytes);
  throw new ConfigError(`${where}: not UTF-8 (byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at offset ${offset})`);
}

/** The offset of the first byte that does not start or continue a valid UTF-8 sequence (run only on bytes isUtf8 refused). */
export function firstInvalidByte(bytes: Buffer): number {
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index]!;
    if (byte < 0x80) {
      index++;
      continue;
    }
    const length = byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    if (length === 0 || index + length > bytes.length || !isUtf8(bytes.subarray(index, index + length))) return index;
    index += length;
  }
  return bytes.length - 1;
}

/** The dotted path of the JSON string (value or key) containing `offset`, or '' when the document is not JSON up to there. */
function fieldOf(bytes: Buffer, offset: number): string {
  // Scan the bytes as JSON up to the offset: ASCII structure only, so no decoding is needed.
  const path: (string | number)[] = [];
  const pending: ('key' | 'value')[] = [];
  let key: string | undefined;
  for (let index = 0; index < offset && index < bytes.length; index++) {
    const byte = bytes[index]!;
    if (byte === 0x22) {
      // A string: find its end (or the offset inside it).
      const start = index + 1;
      let end = start;
      while (end < bytes.length && bytes[end] !== 0x22) end += bytes[end] === 0x5c ? 2 : 1;
      const text = bytes.subarray(start, Math.min(end, bytes.length)).toString('utf8');
      const isKey = pending[pending.length - 1] === 'key' && isFollowedByColon(bytes, end + 1);
      if (offset <= end) return [...path, ...(isKey ? [] : key !== undefined ? [key] : [])].join('.') || (isKey ? text : '');
      if (isKey) key = text;
      index = end;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (key !== undefined) path.push(key);
      else if (pending.length > 0) path.push('[]');
      key = undefined;
      pending.push(byte === 0x7b ? 'key' : 'value');
    } else if (byte === 0x7d || byte === 0x5d) {
      pending.pop();
      path.pop();
      key = undefined;
    } else if (byte === 0x2c) {
      key = undefined;
    }
  }
  return path.join('.');
}

function isFollowedByColon(bytes: Buffer, from: number): boolean {
  let index = from;
  while (index < bytes.length && (bytes[index] === 0x20 || bytes[index] === 0x0a || bytes[index] === 0x0d || bytes[index] === 0x09)) index++;
  return bytes[index] === 0x3a;
}
