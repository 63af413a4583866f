import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readState, saveState, type ProfileState } from './state.js';
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
