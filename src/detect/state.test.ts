import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DetectorState, readState, readStateRecords, saveState, type ProfileState } from './state.js';
import { ConfigError } from '../shared/errors.js';
import { tempDir } from '../../test/support/git-repos.js';

const entry = (mtime: string): ProfileState => ({ mtime, digest: `sha256:${mtime}`, outcome: 'committed' });

/** Fill an empty state dir with `count` hosts at `mtime` through the public API. */
async function seed(dir: string, count: number, mtime = '1') {
  const file = await readState(dir);
  for (let i = 0; i < count; i++) file.state.set(`host${i}.json`, entry(mtime));
  await saveState(dir, file);
}

describe('detector state: snapshot + journal', () => {
  it('round-trips, appends only what changed, and writes nothing when nothing changed', async () => {
    const dir = tempDir();
    try {
      await seed(dir.path, 5000);
      const snapshot = readFileSync(join(dir.path, 'detector-state.tsv'), 'utf8');
      const first = await readState(dir.path);
      assert.equal(first.state.size, 5000);
      first.state.set('host7.json', entry('2'));
      first.state.delete('host8.json');
      first.state.set('host9.json', entry('1')); // set to what it was: no change
      await saveState(dir.path, first);
      assert.equal(readFileSync(join(dir.path, 'detector-state.tsv'), 'utf8'), snapshot);
      assert.equal(readFileSync(join(dir.path, 'detector-state.journal'), 'utf8'), '# packuilon detector journal generation 1\nhost7.json\t2\tsha256:2\tcommitted\nhost8.json\t-\n');
      const second = await readState(dir.path);
      assert.deepEqual(second.state.get('host7.json'), entry('2'));
      assert.equal(second.state.get('host8.json'), undefined);
      assert.equal(second.state.size, 4999);
      await saveState(dir.path, second);
      assert.equal(readFileSync(join(dir.path, 'detector-state.journal'), 'utf8').split('\n').length, 4);
    } finally {
      dir.remove();
    }
  });

  it('rewrites the snapshot when the journal grows past a quarter of it, and drops the journal', async () => {
    const dir = tempDir();
    try {
      await seed(dir.path, 8000);
      await seed(dir.path, 8000, '2');
      assert.ok(!existsSync(join(dir.path, 'detector-state.journal')));
      const read = await readState(dir.path);
      assert.equal(read.generation, 2);
      assert.deepEqual(read.state.get('host7999.json'), entry('2'));
    } finally {
      dir.remove();
    }
  });

  it('ignores a torn last journal line and a journal of another generation', async () => {
    const dir = tempDir();
    try {
      await seed(dir.path, 10);
      const file = await readState(dir.path);
      file.state.set('new.json', entry('3'));
      await saveState(dir.path, file);
      appendFileSync(join(dir.path, 'detector-state.journal'), 'host1.json\t9\tsha2');
      const torn = await readState(dir.path);
      assert.equal(torn.state.get('host1.json')!.mtime, '1');
      assert.equal(torn.state.get('new.json')!.mtime, '3');
      writeFileSync(join(dir.path, 'detector-state.journal'), '# packuilon detector journal generation 99\nhost1.json\t-\n');
      assert.ok((await readState(dir.path)).state.get('host1.json'));
    } finally {
      dir.remove();
    }
  });

  it('partitions index entries by whether their record was taken at that mtime', async () => {
    const dir = tempDir();
    try {
      await seed(dir.path, 3);
      const { state } = await readState(dir.path);
      const { moved, known } = state.partition([
        { name: 'host0.json', mtime: '1' },
        { name: 'host1.json', mtime: '12' },
        { name: 'new.json', mtime: '1' },
      ]);
      assert.deepEqual(moved.map((e) => e.name), ['host1.json', 'new.json']);
      assert.equal(known, 2);
    } finally {
      dir.remove();
    }
  });

  it('keeps a bytes digest when there is one, and reads records of earlier releases without it (v2)', async () => {
    const dir = tempDir();
    try {
      const bytes = 'AbCdEfGhIjKlMnOpQrStUv';
      writeFileSync(
        join(dir.path, 'detector-state.tsv'),
        '# packuilon detector state v2 generation 4: name\tmtime\tdigest\toutcome\nold.json\t5\tsha256:5\tpublished\n',
      );
      const file = await readState(dir.path);
      assert.deepEqual(file.state.get('old.json'), { mtime: '5', digest: 'sha256:5', outcome: 'published' });
      file.state.set('new.json', { ...entry('6'), bytes });
      await saveState(dir.path, file);
      assert.match(readFileSync(join(dir.path, 'detector-state.journal'), 'utf8'), /\nnew\.json\t6\tsha256:6\tcommitted\tAbCdEfGhIjKlMnOpQrStUv\n$/);
      const again = await readState(dir.path);
      assert.deepEqual(again.state.get('new.json'), { ...entry('6'), bytes });
      // A rewritten snapshot says v3 and keeps both kinds of record.
      for (let i = 0; i < 1500; i++) again.state.set(`h${i}.json`, entry('7'));
      await saveState(dir.path, again);
      const snapshot = readFileSync(join(dir.path, 'detector-state.tsv'), 'utf8');
      assert.match(snapshot, /^# packuilon detector state v3 generation 5: name\tmtime\tdigest\toutcome\tbytes\n/);
      const third = await readState(dir.path);
      assert.deepEqual(third.state.get('new.json'), { ...entry('6'), bytes });
      assert.deepEqual(third.state.get('old.json'), { mtime: '5', digest: 'sha256:5', outcome: 'published' });
    } finally {
      dir.remove();
    }
  });

  it('refuses records with a fourth field that is no bytes digest, or an unknown outcome', async () => {
    for (const record of ['5\tsha256:5\tpublished\tshort', '5\tsha256:5\tnonsense\tAbCdEfGhIjKlMnOpQrStUv', '5\tsha256:5', '5']) {
      const dir = tempDir();
      try {
        writeFileSync(join(dir.path, 'detector-state.tsv'), `# packuilon detector state v3 generation 1: name\tmtime\tdigest\toutcome\tbytes\nx.json\t${record}\n`);
        await assert.rejects(readState(dir.path), (error: unknown) => error instanceof ConfigError && /detector-state\.tsv:2: detector state is damaged/.test(error.message), record);
      } finally {
        dir.remove();
      }
    }
  });

  it('refuses a damaged snapshot with a way out', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, 'detector-state.tsv'), '{"version": 1}');
      await assert.rejects(readState(dir.path), (error: unknown) => error instanceof ConfigError && /detector state is damaged.*run detect --baseline/.test(error.message));
    } finally {
      dir.remove();
    }
  });
});

describe('detector state read for some names (readStateRecords)', () => {
  it('finds each name by bisection, with the journal on top, as the whole read does', async () => {
    const dir = tempDir();
    try {
      await seed(dir.path, 3000);
      const first = await readState(dir.path);
      first.state.set('host17.json', entry('5'));
      first.state.delete('host18.json');
      first.state.set('zzz-new.json', entry('6'));
      await saveState(dir.path, first);
      const whole = (await readState(dir.path)).state;
      // The first and last lines, names that are prefixes of others, journal changes, and names nobody has.
      const names = ['host0.json', 'host999.json', 'host1.json', 'host10.json', 'host100.json', 'host17.json', 'host18.json', 'zzz-new.json', 'host.json', 'aaa.json', 'zzzz.json'];
      const part = (await readStateRecords(dir.path, names, whole.size))!;
      assert.ok(part.state.partial);
      for (const name of names) assert.deepEqual(part.state.get(name), whole.get(name), name);
      assert.equal(part.state.size, whole.size);
      assert.throws(() => part.state.names(), /for some names only/);
    } finally {
      dir.remove();
    }
  });

  it('saves the same journal lines as a whole state, and a whole new snapshot when one is due', async () => {
    const dir = tempDir();
    const twin = tempDir();
    try {
      await seed(dir.path, 2000);
      cpSync(dir.path, twin.path, { recursive: true });
      const change = (state: DetectorState, from: number, count: number) => {
        for (let i = from; i < from + count; i++) state.set(`host${i}.json`, entry('7'));
        state.delete(`host${from + count}.json`);
        state.set(`new${from}.json`, entry('8'));
      };
      const names = (from: number, count: number) => [...Array.from({ length: count + 1 }, (_, i) => `host${from + i}.json`), `new${from}.json`];
      for (const [from, count] of [[10, 5], [100, 1200]] as const) {
        // 1,200 changes pass the journal's limit (1,000): the second round writes a snapshot.
        const whole = await readState(dir.path);
        const part = (await readStateRecords(twin.path, names(from, count), whole.state.size))!;
        change(whole.state, from, count);
        change(part.state, from, count);
        assert.equal(part.state.size, whole.state.size);
        await saveState(dir.path, whole);
        await saveState(twin.path, part);
        for (const file of ['detector-state.tsv', 'detector-state.journal']) {
          const read = (path: string) => (existsSync(join(path, file)) ? readFileSync(join(path, file), 'utf8') : 'absent');
          assert.equal(read(twin.path), read(dir.path), `${file} after ${count} changes`);
        }
      }
      assert.ok(!existsSync(join(dir.path, 'detector-state.journal')), 'the second round wrote a snapshot');
    } finally {
      dir.remove();
      twin.remove();
    }
  });

  it('declines a snapshot of byte digests (v1), and no state at all', async () => {
    const dir = tempDir();
    try {
      assert.equal(await readStateRecords(dir.path, ['a.json'], 0), undefined);
      writeFileSync(join(dir.path, 'detector-state.tsv'), '# packuilon detector state v1 generation 1: name\tmtime\tdigest\toutcome\na.json\t1\tsha256:x\tcommitted\n');
      assert.equal(await readStateRecords(dir.path, ['a.json'], 1), undefined);
    } finally {
      dir.remove();
    }
  });
});
