import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffIndex, isPlainIndex, plainEntry } from './index-diff.js';
import { parseProfileIndex, type IndexEntry } from './profile-index.js';
import { seededRandom } from '../../test/support/seeded-random.js';

const line = (name: string, mtime: string | number) => `<profile mtime='${mtime}'>${name}</profile>`;
const indexOf = (lines: string[]) => Buffer.from(`<?xml version='1.0' encoding='utf-8'?>\n<profiles>\n${lines.map((l) => `${l}\n`).join('')}</profiles>\n`);
const key = (entry: IndexEntry) => `${entry.name}@${entry.mtime}`;

/** old − removed + added, as a multiset of name@mtime, against the full parser's answer for `next`. */
function assertComplete(old: Buffer, next: Buffer, delta: { removed: IndexEntry[]; added: IndexEntry[] }, label: string) {
  const count = new Map<string, number>();
  const bump = (entry: IndexEntry, by: number) => count.set(key(entry), (count.get(key(entry)) ?? 0) + by);
  for (const entry of parseProfileIndex('old', old.toString()).entries) bump(entry, 1);
  for (const entry of delta.removed) bump(entry, -1);
  for (const entry of delta.added) bump(entry, 1);
  for (const entry of parseProfileIndex('next', next.toString()).entries) bump(entry, -1);
  const off = [...count].filter(([, n]) => n !== 0);
  assert.deepEqual(off, [], `${label}: the delta does not account for every entry`);
}

describe('plainEntry: the one line shape a diff may read', () => {
  it('reads Aquilon\'s entry line', () => {
    const bytes = Buffer.from(line('clusters/grid.example.org.json', 1718271442));
    assert.deepEqual(plainEntry(bytes, 0, bytes.length), { name: 'clusters/grid.example.org.json', mtime: '1718271442' });
  });
  it('refuses every other shape, which the full parser then reads', () => {
    for (const text of [
      line('a&amp;b.json', 1), // a reference: the full parser decodes it
      line('../x.json', 1),
      line('a/../b.json', 1),
      line('café.json', 1),
      `<profile mtime="1">a.json</profile>`,
      `<profile  mtime='1'>a.json</profile>`,
      `<profile mtime='1'>a.json</profile>\r`,
      `<profile mtime='1'>a.json</profile> `,
      `<profile mtime=''>a.json</profile>`,
      `<profile mtime='1x'>a.json</profile>`,
      `<profile mtime='${'9'.repeat(21)}'>a.json</profile>`,
      `<profile mtime='1'></profile>`,
      `<profile mtime='1'>a.json`,
      `<!-- ${line('a.json', 1)} -->`,
      '<profiles>',
    ]) {
      const bytes = Buffer.from(text);
      assert.equal(plainEntry(bytes, 0, bytes.length), undefined, text);
    }
  });
});

describe('isPlainIndex: only an index read line by line is remembered', () => {
  const lines = ['a.json', 'b.json', 'c.json'].map((name, i) => line(name, i + 1));
  const check = (bytes: Buffer) => isPlainIndex(bytes, parseProfileIndex('x', bytes.toString()).entries);
  it('accepts what Aquilon writes', () => {
    assert.equal(check(indexOf(lines)), true);
    assert.equal(check(Buffer.from(`<profiles>\n${lines.join('\n')}\n</profiles>`)), true);
  });
  it('refuses comments, entries across lines, CRLF, entities, other quoting, text between entries and names listed twice', () => {
    for (const bytes of [
      indexOf([...lines, `<!-- ${line('d.json', 4)} -->`]),
      indexOf([...lines, "<profile mtime='4'>", 'd.json</profile>']),
      Buffer.from(indexOf(lines).toString().replaceAll('\n', '\r\n')),
      indexOf([...lines, line('d&amp;e.json', 4)]),
      indexOf([...lines, 'stray text']),
      indexOf([...lines, `<profile mtime="4">d.json</profile>`]),
      indexOf([...lines, `<profile mtime='4' >d.json</profile>`]),
      indexOf([...lines, `${line('d.json', 4)}${line('e.json', 5)}`]),
      indexOf([...lines, line('../up.json', 4)]),
      indexOf([...lines, line('a.json', 9)]),
    ]) {
      assert.equal(check(bytes), false, bytes.toString());
    }
  });
});

describe('diffIndex', () => {
  const base = Array.from({ length: 400 }, (_, i) => line(`host${String(i).padStart(4, '0')}.example.org.json`, 1_700_000_000 + i));

  it('finds recompiles, hosts added and removed, in step after each', () => {
    const next = [...base];
    next[10] = line('host0010.example.org.json', 1_800_000_000);
    next.splice(200, 0, line('new1.example.org.json', 5), line('new2.example.org.json', 6));
    next.splice(300, 3);
    next[390] = line('host0391.example.org.json', 1_800_000_001);
    const old = indexOf(base);
    const delta = diffIndex(old, indexOf(next), 1000)!;
    assert.ok(delta);
    assert.deepEqual(delta.added.map(key), ['host0010.example.org.json@1800000000', 'new1.example.org.json@5', 'new2.example.org.json@6', 'host0391.example.org.json@1800000001']);
    assert.deepEqual(delta.removed.map(key), ['host0010.example.org.json@1700000010', 'host0298.example.org.json@1700000298', 'host0299.example.org.json@1700000299', 'host0300.example.org.json@1700000300', 'host0391.example.org.json@1700000391']);
    assertComplete(old, indexOf(next), delta, 'mixed');
  });

  it('the same bytes: nothing; more lines changed than the limit: the full path', () => {
    const old = indexOf(base);
    assert.deepEqual(diffIndex(old, Buffer.from(old), 10), { removed: [], added: [] });
    const shuffled = [...base].reverse();
    assert.equal(diffIndex(old, indexOf(shuffled), 50), undefined);
  });

  it('declines what only the full parser may read: a cut index, a changed frame, a line of another shape', () => {
    const old = indexOf(base);
    const text = old.toString();
    for (const [label, next] of [
      ['cut short', text.slice(0, text.length / 2)],
      ['no </profiles>', text.replace('</profiles>\n', '')],
      ['entry after </profiles>', `${text}${line('late.json', 1)}\n`],
      ['comment opened', text.replace(base[5]!, `<!--\n${base[5]!}`)],
      ['entity', text.replace(base[7]!, line('host0007&amp;.json', 1))],
      ['double quotes', text.replace(base[9]!, base[9]!.replaceAll("'", '"'))],
      ['CRLF', text.replace(`${base[11]!}\n`, `${base[11]!}\r\n`)],
      ['root renamed', text.replace('<profiles>', '<profiles version="2">')],
    ] as const) {
      assert.equal(diffIndex(old, Buffer.from(next), 1000), undefined, label);
    }
  });

  it('whatever is changed, a delta it returns accounts for every entry the full parser reads', () => {
    const fragments = ['<!--', '-->', '<profile', "mtime='1'>", '</profile>', '&amp;', '\r', '', '<profiles>', 'x'];
    let diffed = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const pick = seededRandom(seed);
      const next = base.slice(0, 60 + pick(40));
      const old = indexOf(next);
      for (let edits = 1 + pick(12); edits > 0; edits--) {
        const at = pick(next.length + 1);
        const op = pick(10);
        if (op < 4 && at < next.length) next[at] = line(`host${String(at).padStart(4, '0')}.example.org.json`, 1_900_000_000 + pick(1000));
        else if (op < 6) next.splice(at, 0, line(`added${pick(50)}.example.org.json`, pick(99)));
        else if (op < 8) next.splice(at, 1 + pick(3));
        else if (op < 9) next.splice(at, 0, fragments[pick(fragments.length)]!);
        else next.splice(at, 0, ...next.splice(pick(next.length), 1));
      }
      const bytes = indexOf(next);
      const delta = diffIndex(old, bytes, 1000);
      if (!delta) continue;
      diffed++;
      assertComplete(old, bytes, delta, `seed ${seed}`);
    }
    assert.ok(diffed > 100, `only ${diffed} of 400 cases were diffed: the generator no longer exercises the diff`);
  });
});
