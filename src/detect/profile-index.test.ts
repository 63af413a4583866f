import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProfileIndex } from './profile-index.js';
import { TransientError } from '../shared/errors.js';

const wrap = (body: string) => `<?xml version='1.0' encoding='utf-8'?>\n<profiles>${body}</profiles>\n`;
const entry = (name: string, mtime = '1700000000') => `<profile mtime='${mtime}'>${name}</profile>\n`;
const parse = (body: string) => parseProfileIndex('index', wrap(body));

describe('profile index: entries', () => {
  it('reads Aquilon\'s entries, quotes of either kind, spaces in the closing tag', () => {
    const { entries, invalid } = parse(`${entry('a.json')}<profile  mtime="5" other='x'>b.json.gz</profile >\n<profile mtime='6'>\n  clusters/c.json\n</profile>`);
    assert.deepEqual(entries, [
      { name: 'a.json', mtime: '1700000000' },
      { name: 'b.json.gz', mtime: '5' },
      { name: 'clusters/c.json', mtime: '6' },
    ]);
    assert.deepEqual(invalid, []);
  });

  it('refuses a cut index as a whole (it would look like a mass deletion)', () => {
    for (const xml of ['<profiles>' + entry('a.json'), entry('a.json'), '', '<profiles></profile>', '</profiles><profiles>']) {
      assert.throws(() => parseProfileIndex('index', xml), TransientError, JSON.stringify(xml));
    }
    assert.deepEqual(parseProfileIndex('index', '<profiles/>\n<profiles></profiles>').entries, []);
  });

  it('decodes the five entities and character references', () => {
    assert.deepEqual(parse(entry('a&#x2B;c&#64;d&#x2e;json')).entries, [{ name: 'a+c@d.json', mtime: '1700000000' }]);
  });

  for (const reference of ['&#x110000;', '&#0;', '&#xD800;', '&#xdfff;', '&#99999999999999999999;', '&#x7FFFFFFFFFFF;', '&#1;', '&#xFFFE;', '&#4294967296;']) {
    it(`an entry with ${reference} is that entry's problem; the others are read`, () => {
      const { entries, invalid } = parse(`${entry('before.json')}${entry(`bad${reference}.json`)}${entry('after.json')}`);
      assert.deepEqual(entries.map((e) => e.name), ['before.json', 'after.json']);
      assert.equal(invalid.length, 1);
    });
  }

  it('lists entries with unusable names or mtimes as invalid, and keeps going', () => {
    const { entries, invalid } = parse(
      [entry('../x.json'), entry('ok.json'), entry('a b.json'), entry('m.json', 'yesterday'), "<profile>nomtime.json</profile>", entry('x'.repeat(5000)), `<profile ${'a'.repeat(5000)} mtime='1'>long.json</profile>`, entry('last.json')].join(''),
    );
    assert.deepEqual(entries.map((e) => e.name), ['ok.json', 'last.json']);
    assert.equal(invalid.length, 6);
    assert.ok(invalid.every((name) => name.length <= 1100));
  });
});

describe('profile index: hostile shapes give the right entries', () => {
  const n = 20_000;
  const shapes: [string, string, string[]][] = [
    ['unterminated <profile tags', '<profile '.repeat(n), []],
    ['open tags never closed', "<profile mtime='1'>x.json".repeat(n), []],
    ['many tags sharing one > far away', `${'<profile a '.repeat(n)}>`, []],
    ['mtime=\' never closed', `<profile ${"mtime='".repeat(200)}>a.json</profile>`, []],
    ['<profiles and <profile mixed', '<profiles <profile <profilex '.repeat(n), []],
    ['a closing tag with no >', `${entry('a.json')}<profile mtime='1'>b.json</profile${' '.repeat(n)}`, ['a.json']],
  ];
  for (const [what, body, names] of shapes) {
    it(what, () => {
      const { entries } = parse(`${entry('first.json')}${body}${entry('z-last.json')}`);
      const got = entries.map((e) => e.name);
      // Entries before the junk are always read; after it, those a reader would find.
      assert.equal(got[0], 'first.json');
      for (const name of names) assert.ok(got.includes(name), name);
    });
  }

  it('reads an entry after many unterminated tags when a > follows them', () => {
    const { entries } = parse(`${'<profile '.repeat(n)}><profile mtime='1'>after.json</profile>`);
    assert.ok(entries.some((e) => e.name === 'after.json'));
  });
});

/*
 * Linear whatever the index holds: the same hostile shape at 100,000 and
 * 1,000,000 repetitions, side by side, interleaved, best of seven each. Linear
 * work gives a ratio near 10; the old regular expression was quadratic (a
 * ratio of ~100, and minutes at 100,000). The bound of 50 leaves room for a
 * machine shared with other test processes and still fails quadratic work.
 */
describe('profile index: work grows linearly with the index', () => {
  const shapes: [string, (count: number) => string][] = [
    ['unterminated <profile tags', (count) => '<profile '.repeat(count)],
    ['tags sharing one far >', (count) => `${'<profile a '.repeat(count)}>`],
    ['open entries never closed', (count) => "<profile mtime='1'>x".repeat(count)],
    ['real entries', (count) => entry('host.example.org.json').repeat(count / 4)],
  ];
  const once = (xml: string) => {
    const start = process.hrtime.bigint();
    parseProfileIndex('index', xml);
    return Number(process.hrtime.bigint() - start);
  };
  for (const [what, make] of shapes) {
    it(what, () => {
      const small = wrap(make(100_000));
      const large = wrap(make(1_000_000));
      let fastSmall = Infinity;
      let fastLarge = Infinity;
      for (let round = 0; round < 7; round++) {
        fastSmall = Math.min(fastSmall, once(small));
        fastLarge = Math.min(fastLarge, once(large));
      }
      const ratio = fastLarge / fastSmall;
      assert.ok(ratio < 50, `1M / 100k took ${ratio.toFixed(1)}× (linear ≈ 10)`);
    });
  }
});
