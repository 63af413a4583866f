/**
 * Canonical JSON straight from the bytes, for the common case of a document
 * whose object keys are already sorted (Aquilon's are: pan dicts are sorted
 * maps). One pass, no object built: whitespace dropped, runs of other bytes
 * copied, strings with escapes and numbers that are not plain integers
 * re-spelled as JSON.stringify spells them. Anything else (keys out of order
 * or repeated, invalid JSON, nesting deeper than MAX_DEPTH) gives undefined,
 * and the caller takes the slow path (parse, sort, serialise), which yields
 * the same bytes for the same value. Input must be valid UTF-8 (checked before).
 */
const MAX_DEPTH = 512;
const PLAIN_INTEGER = /^-?[1-9][0-9]{0,14}$|^0$/;
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

// Byte classes: 1 whitespace, 2 a byte that ends a run of copyable bytes (structure, quote).
const CLASS = new Uint8Array(256);
for (const c of [0x20, 0x0a, 0x0d, 0x09]) CLASS[c] = 1;
for (const c of [0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x22]) CLASS[c] = 2;

export function canonicalJsonBytes(input: Uint8Array): Buffer | undefined {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const end = bytes.length;
  let out: Buffer = Buffer.allocUnsafe(end + 64);
  let length = 0;
  // Per open container: 1 object, 2 array; the last key of each open object.
  const kinds: number[] = [];
  const lastKeys: (string | undefined)[] = [];
  // What may come next: 0 a value, 1 a key or '}' (object just opened), 2 ',' or a closer, 3 ':', 4 a key (after ','), 5 a value or ']' (array just opened).
  let expect = 0;
  let pos = 0;
  while (pos < end) {
    const c = bytes[pos]!;
    const cls = CLASS[c]!;
    if (cls === 1) {
      pos++;
      continue;
    }
    if (length + 64 > out.length) out = grow(out, length, 64);
    if (c === 0x22) {
      if (expect === 2 || expect === 3) return undefined;
      const isKey = expect === 1 || expect === 4;
      let index = pos + 1;
      let escaped = false;
      for (;;) {
        if (index >= end) return undefined;
        const b = bytes[index]!;
        if (b === 0x22) break;
        if (b < 0x20) return undefined;
        if (b === 0x5c) {
          escaped = true;
          index += 2;
        } else index++;
      }
      const stop = index + 1;
      let key: string | undefined;
      if (!escaped) {
        if (length + (stop - pos) > out.length) out = grow(out, length, stop - pos);
        bytes.copy(out, length, pos, stop);
        length += stop - pos;
        if (isKey) key = bytes.toString('utf8', pos + 1, index);
      } else {
        let value: unknown;
        try {
          value = JSON.parse(bytes.toString('utf8', pos, stop));
        } catch {
          return undefined;
        }
        const text = JSON.stringify(value);
        if (length + text.length * 3 > out.length) out = grow(out, length, text.length * 3);
        length += out.write(text, length, 'utf8');
        key = value as string;
      }
      pos = stop;
      if (isKey) {
        const previous = lastKeys[lastKeys.length - 1];
        // Strictly increasing, as Array.prototype.sort orders them (UTF-16 code units): a repeat or a disorder takes the slow path.
        if (previous !== undefined && !(previous < key!)) return undefined;
        lastKeys[lastKeys.length - 1] = key;
        expect = 3;
      } else expect = 2;
      continue;
    }
    if (cls === 2) {
      if (c === 0x7b || c === 0x5b) {
        if ((expect !== 0 && expect !== 5) || kinds.length >= MAX_DEPTH) return undefined;
        kinds.push(c === 0x7b ? 1 : 2);
        lastKeys.push(undefined);
        expect = c === 0x7b ? 1 : 5;
      } else if (c === 0x7d || c === 0x5d) {
        const kind = kinds[kinds.length - 1];
        const empty = c === 0x7d ? expect === 1 : expect === 5;
        if (kind !== (c === 0x7d ? 1 : 2) || (!empty && expect !== 2)) return undefined;
        kinds.pop();
        lastKeys.pop();
        expect = 2;
      } else if (c === 0x3a) {
        if (expect !== 3) return undefined;
        expect = 0;
      } else {
        // ','
        if (expect !== 2 || kinds.length === 0) return undefined;
        expect = kinds[kinds.length - 1] === 1 ? 4 : 0;
      }
      out[length++] = c;
      pos++;
      if (kinds.length === 0 && expect === 2) break;
      continue;
    }
    // A number or a literal: up to the next whitespace or structural byte.
    if (expect !== 0 && expect !== 5) return undefined;
    let index = pos + 1;
    while (index < end && CLASS[bytes[index]!] === 0) index++;
    const token = bytes.toString('latin1', pos, index);
    if (token === 'true' || token === 'false' || token === 'null' || PLAIN_INTEGER.test(token)) {
      length += out.write(token, length, 'latin1');
    } else if (JSON_NUMBER.test(token)) {
      length += out.write(JSON.stringify(Number(token)), length, 'latin1');
    } else return undefined;
    pos = index;
    expect = 2;
    if (kinds.length === 0) break;
  }
  // One complete value, then only whitespace.
  if (kinds.length !== 0 || expect !== 2) return undefined;
  while (pos < end && CLASS[bytes[pos]!] === 1) pos++;
  return pos === end ? out.subarray(0, length) : undefined;
}

function grow(out: Buffer, length: number, extra: number): Buffer {
  const grown = Buffer.allocUnsafe(Math.max(out.length * 2, length + extra + 64));
  out.copy(grown, 0, 0, length);
  return grown;
}
