import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DetectorState, readState, saveState } from './state.js';
import { ConfigError } from '../shared/errors.js';
import { tempDir } from '../../test/support/git-repos.js';

const entry = (mtime: string, digest = `sha256:${mtime}`) => ({ mtime, digest, outcome: 'committed' as const });

function stateOf(count: number, mtime = '1'): DetectorState {
  return DetectorState.of(Array.from({ length: count }, (_, i) => [`host${i}.json`, entry(mtime)] as [string, ReturnType<typeof entry>]));
}
const copy = (state: DetectorState) => DetectorState.of([...state.names()].map((name) => [name, state.get(name)!] as [string, ReturnType<typeof entry>]));

describe('detector state: snapshot + journal', () => {
  it('round-trips, appends only what changed, and writes nothing when nothing changed', async () => {
    const dir = tempDir();
    try {
      await saveState(dir.path, await readState(dir.path), stateOf(5000));
      const snapshot = readFileSync(join(dir.path, 'detector-state.tsv'), 'utf8');
      const first = await readState(dir.path);
      assert.equal(first.state.size, 5000);
      const next = copy(first.state);
      next.set('host7.json', entry('2'));
      next.delete('host8.json');
      await saveState(dir.path, first, next);
      assert.equal(readFileSync(join(dir.path, 'detector-state.tsv'), 'utf8'), snapshot);
      assert.equal(readFileSync(join(dir.path, 'detector-state.journal'), 'utf8'), '# packuilon detector journal generation 1\nhost7.json\t2\tsha256:2\tcommitted\nhost8.json\t-\n');
      const second = await readState(dir.path);
      assert.deepEqual(second.state.lines(), next.lines());
      await saveState(dir.path, second, copy(second.state));
      assert.equal(readFileSync(join(dir.path, 'detector-state.journal'), 'utf8').split('\n').length, 4);
    } finally {
      dir.remove();
    }
  });

  it('rewrites the snapshot when the journal grows past a quarter of it, and drops the journal', async () => {
    const dir = tempDir();
    try {
      await saveState(dir.path, await readState(dir.path), stateOf(8000));
      const next = stateOf(8000, '2');
      await saveState(dir.path, await readState(dir.path), next);
      assert.ok(!existsSync(join(dir.path, 'detector-state.journal')));
      const read = await readState(dir.path);
      assert.equal(read.generation, 2);
      assert.deepEqual(read.state.lines(), next.lines());
    } finally {
      dir.remove();
    }
  });

  it('ignores a torn last journal line and a journal of another generation', async () => {
    const dir = tempDir();
    try {
      await saveState(dir.path, await readState(dir.path), stateOf(10));
      const file = await readState(dir.path);
      const more = copy(file.state);
      more.set('new.json', entry('3'));
      await saveState(dir.path, file, more);
      appendFileSync(join(dir.path, 'detector-state.journal'), 'host1.json\t9\tsha2');
      const torn = await readState(dir.path);
      assert.equal(torn.state.get('host1.json')!.mtime, '1');
      assert.equal(torn.state.get('new.json')!.mtime, '3');
      writeFileSync(join(dir.path, 'detector-state.journal'), '# packuilon detector journal generation 99\nhost1.json\t-\n');
      assert.ok((await readState(dir.path)).state.has('host1.json'));
    } finally {
      dir.remove();
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
