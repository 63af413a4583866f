import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bytesDigest, bytesDigests, canonicalJson, canonicalText, digestProfileText, profileDigest, sameProfile, sha256 } from './digest.js';

const digestOf = (text: string) => profileDigest(Buffer.from(text));

describe('profile digests: the content, not its formatting', () => {
  const base = { system: { b: [1, 2, { z: 'é', a: null }], a: true }, metadata: { n: 1.5 } };
  it('is the same for key order, indentation, escapes and number spelling', () => {
    const digest = digestOf(JSON.stringify(base));
    for (const variant of [
      JSON.stringify(base, null, 2),
      JSON.stringify(base, null, '\t') + '\n\n',
      '{"metadata":{"n":15e-1},"system":{"a":true,"b":[1,2,{"a":null,"z":"\\u00e9"}]}}',
      '  {"system" : {"a":true , "b":[ 1 , 2.0 , {"z":"é","a":null} ]},\r\n"metadata":{"n":1.50}}  ',
    ]) {
      assert.equal(digestOf(variant), digest, variant);
    }
  });

  it('differs for any change of content: a value, a key, array order, a type', () => {
    const digest = digestOf(JSON.stringify(base));
    for (const changed of [
      { ...base, metadata: { n: 2 } },
      { ...base, metadata: { m: 1.5 } },
      { ...base, system: { ...base.system, b: [2, 1, { z: 'é', a: null }] } },
      { ...base, metadata: { n: '1.5' } },
      { ...base, extra: null },
    ]) {
      assert.notEqual(digestOf(JSON.stringify(changed)), digest, JSON.stringify(changed));
    }
  });

  it('digests bytes that are not JSON as they are', () => {
    assert.equal(digestOf('not json'), sha256('not json'));
  });

  it('a document nested too deep to walk is digested as bytes, not a stack overflow', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    assert.equal(digestOf(deep), sha256(deep));
  });

  it('canonical JSON sorts keys at every level, no whitespace', () => {
    assert.equal(canonicalJson({ b: { d: 1, c: [{ f: 1, e: 2 }] }, a: 'x' }), '{"a":"x","b":{"c":[{"e":2,"f":1}],"d":1}}');
  });

  it('the fast form is the reference form, byte for byte: sorted or not, index-like keys, unicode, numbers, nesting', () => {
    const cases: unknown[] = [
      { a: 1, b: { c: [1, { e: 2, d: 3 }], z: null }, y: 'x' },
      { b: 1, a: 2 },
      { a: { b: { c: { e: 1, d: 2 } } } },
      { '10': 'ten', '9': 'nine', a: 'a', '': 'empty', '01': 'not an index' },
      [{ '0': 1 }, { x: 1 }],
      { 'é': 1, e: 2, 'Z': 3, '\u{1F600}': 4, '\uFFFF': 5, '\uD800x': 6 },
      { n: [-0, 1e21, 1.5e-7, 0.1, 123456789012345680000, -1], s: 'quote " backslash \\ control \u0001 line \u2028' },
      [], {}, 'text', 42, null, true, [[[]], [{}]],
    ];
    // and random documents with keys out of order at random depths
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const make = (depth: number): unknown => {
      const r = random();
      if (depth > 4 || r < 0.3) return r < 0.1 ? null : r < 0.2 ? Math.round(random() * 1000) : `v${Math.round(random() * 99)}`;
      if (r < 0.45) return Array.from({ length: Math.floor(random() * 4) }, () => make(depth + 1));
      const keys = Array.from({ length: Math.floor(random() * 6) }, () => (random() < 0.1 ? String(Math.floor(random() * 20)) : `k${Math.floor(random() * 30)}`));
      return Object.fromEntries(keys.map((key) => [key, make(depth + 1)]));
    };
    for (let i = 0; i < 500; i++) cases.push(make(0));
    for (const value of cases) {
      const parsed = JSON.parse(JSON.stringify(value)) as unknown;
      assert.equal(canonicalText(parsed), canonicalJson(parsed), JSON.stringify(value));
    }
  });

  it('digestProfileText gives profileDigest\'s digest, the text and the parsed document, for JSON and not', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    for (const text of [JSON.stringify(base, null, 2), '{"b":1,"a":[{"d":1,"c":2}]}', 'not json', '', deep, '"é"']) {
      const bytes = Buffer.from(text);
      const got = digestProfileText(bytes);
      assert.equal(got.digest, profileDigest(bytes), text.slice(0, 40));
      assert.equal(got.text, text);
      let expected: unknown;
      try {
        expected = JSON.parse(text);
      } catch {
        expected = undefined;
      }
      if (text === deep) assert.ok(Array.isArray(got.document)); // too deep for deepEqual
      else assert.deepEqual(got.document, expected);
    }
  });

  it('a record of the bytes (an earlier release) still matches the same bytes, and only them', () => {
    const text = JSON.stringify(base, null, 2);
    const digest = digestOf(text);
    assert.ok(sameProfile(sha256(text), digest, Buffer.from(text)));
    assert.ok(sameProfile(digest, digest, text));
    assert.ok(!sameProfile(sha256(JSON.stringify(base)), digest, text));
    assert.ok(!sameProfile('', digest, text));
    assert.ok(!sameProfile(undefined, digest, text));
    // A byte digest the caller already has is used instead of hashing again.
    assert.ok(sameProfile(sha256(text), digest, Buffer.from('other bytes'), sha256(text)));
  });

  it('one hash of the bytes gives both the full byte digest and the state\'s short one', () => {
    for (const text of ['', '{"a":1}', 'é\u0000\n', 'x'.repeat(100_000)]) {
      const bytes = Buffer.from(text);
      const both = bytesDigests(bytes);
      assert.equal(both.full, sha256(bytes));
      assert.equal(both.short, bytesDigest(bytes));
      assert.equal(both.short, createHash('sha256').update(bytes).digest('base64url').slice(0, 22));
      assert.match(both.short, /^[A-Za-z0-9_-]{22}$/);
    }
    assert.notEqual(bytesDigest(Buffer.from('{"a":1}')), bytesDigest(Buffer.from('{"a": 1}')));
  });
});
