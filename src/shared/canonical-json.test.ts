import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJsonBytes } from './canonical-json.js';
import { canonicalJson, profileDigest, sha256, slowCanonical } from './digest.js';
import { profileDocument } from '../../test/support/site.js';

/** The fast path must give exactly the slow path's bytes, or decline. */
function agree(text: string): 'fast' | 'slow' | 'not json' {
  const bytes = Buffer.from(text);
  const fast = canonicalJsonBytes(bytes);
  const slow = slowCanonical(bytes);
  if (fast) {
    assert.equal(fast.toString('utf8'), slow, text.slice(0, 200));
    return 'fast';
  }
  return slow === undefined ? 'not json' : 'slow';
}

function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedDeep((value as Record<string, unknown>)[key])]));
  return value;
}

describe('canonical JSON: the one-pass path agrees with parse + sort + serialise', () => {
  it('on sorted documents, pretty or compact, with escapes, numbers and unicode', () => {
    const values = [
      sortedDeep(profileDocument({ extra: { list: [1, -0, 1.5, 1e21, 1e-7, 123456789012345678, 'x'] } })),
      { a: 'é\u2028\u0000"\\/', b: [true, false, null, [], {}], c: { '': 1, ' ': 2, 'A': 3, 'a': 4, 'é': 5, '\ud83d\ude00': 6, '\uffff': 7 } },
      [],
      {},
      'top',
      0,
      [[[[[{ z: [] }]]]]],
    ];
    for (const value of values) {
      const sorted = sortedDeep(value);
      for (const text of [JSON.stringify(sorted), JSON.stringify(sorted, null, 2), ` \n${JSON.stringify(sorted, null, '\t')}\r\n `]) assert.equal(agree(text), 'fast', text);
    }
  });

  it('re-spells numbers and escapes as JSON.stringify does', () => {
    for (const [text, canonical] of [
      ['{"a": 1.50, "b": 15e-1, "c": -0, "d": 1E2, "e": 0.1e1}', '{"a":1.5,"b":1.5,"c":0,"d":100,"e":1}'],
      ['["\\u003d\\u003c\\u003e\\u0026\\u0027", "\\/", "\\u00e9", "\\n"]', '["=<>&\'","/","é","\\n"]'],
      ['{"\\u0061": 1, "b": 2}', '{"a":1,"b":2}'],
      ['[1e400, -1e400, 12345678901234567890]', '[null,null,12345678901234567000]'],
    ] as const) {
      assert.equal(canonicalJsonBytes(Buffer.from(text))?.toString(), canonical, text);
      assert.equal(slowCanonical(Buffer.from(text)), canonical, text);
    }
  });

  it('declines what it cannot do in one pass, and the digest is still the canonical one', () => {
    for (const text of ['{"b": 1, "a": 2}', '{"a": 1, "a": 2}', '{"b": {"d": 1, "c": 2}, "a": 0}', '{"\\u0062": 1, "a": 2}', '{"\\uffff": 1, "\\ud83d\\ude00": 2}']) {
      assert.equal(agree(text), 'slow', text);
      assert.equal(profileDigest(Buffer.from(text)), sha256(canonicalJson(JSON.parse(text))));
    }
  });

  it('declines invalid JSON, which is digested as bytes', () => {
    for (const text of ['', ' ', '{', '}', '[1,]', '{"a":}', '{"a" 1}', '{"a":1,}', '[1 2]', '01', '1.', '+1', '.5', 'tru', 'nulls', '"a', '"\u0001"', '{"a":1}x', '[]]', '{"a":1}}', '\ufeff{}', '{,}', '[,1]', '{"a":1 "b":2}', 'NaN', '1e', '--1', '"\\x"']) {
      assert.equal(agree(text), 'not json', JSON.stringify(text));
      assert.equal(profileDigest(Buffer.from(text)), sha256(text));
    }
  });

  it('does not recurse: 100,000 levels of nesting are declined, not a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    assert.equal(canonicalJsonBytes(Buffer.from(deep)), undefined);
    assert.match(profileDigest(Buffer.from(deep)), /^sha256:/);
  });

  it('random sorted documents', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const make = (depth: number): unknown => {
      const r = random();
      if (depth > 4 || r < 0.3) return [() => random() * 1e6 - 5e5, () => Math.floor(random() * 1e9), () => `s${random()}\u00e9"\\`, () => null, () => random() < 0.5][Math.floor(random() * 5)]!();
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 5) }, () => make(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, (_, i) => [`k${Math.floor(random() * 100)}${i}`, make(depth + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const value = sortedDeep(make(0));
      assert.equal(agree(JSON.stringify(value, null, i % 3)), 'fast');
    }
  });
});
