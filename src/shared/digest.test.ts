import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, profileDigest, sameProfile, sha256 } from './digest.js';

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

  it('a record of the bytes (an earlier release) still matches the same bytes, and only them', () => {
    const text = JSON.stringify(base, null, 2);
    const digest = digestOf(text);
    assert.ok(sameProfile(sha256(text), digest, Buffer.from(text)));
    assert.ok(sameProfile(digest, digest, text));
    assert.ok(!sameProfile(sha256(JSON.stringify(base)), digest, text));
    assert.ok(!sameProfile('', digest, text));
    assert.ok(!sameProfile(undefined, digest, text));
  });
});
