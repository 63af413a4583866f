import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findIndexMemo, memoKey } from './index-memo.js';
import { planPass, rememberPass, type PassPlan } from './plan-pass.js';
import { createMatcher, type Matcher } from './profile-index.js';
import { createDirectoryProfileSource } from './profile-source.js';
import { DetectorState, saveState } from './state.js';
import { silentLogger } from '../shared/log.js';
import { tempDir } from '../../test/support/git-repos.js';
import { seededRandom } from '../../test/support/seeded-random.js';

const line = (name: string, mtime: number) => `<profile mtime='${mtime}'>${name}</profile>`;
const indexText = (lines: string[]) => `<?xml version='1.0' encoding='utf-8'?>\n<profiles>\n${lines.map((l) => `${l}\n`).join('')}</profiles>\n`;
const log = silentLogger();

/** What decides a pass, comparable whichever way it was planned. */
const summary = ({ plan }: PassPlan) => ({
  toFetch: plan.toFetch.map((entry) => `${entry.name}@${entry.mtime}`).sort(),
  gone: [...plan.gone].sort(),
  matched: plan.matched,
  listed: plan.listed,
  known: plan.known,
  invalid: plan.invalid,
});

/** A site dir and a state dir as a clean pass leaves them: every matching entry recorded at its mtime, the index remembered. */
async function cleanPass(root: string, lines: string[], matcher: Matcher, key: string) {
  const site = join(root, 'site');
  const stateDir = join(root, 'state');
  writeFileSync(join(site, 'profiles-info.xml'), indexText(lines));
  const source = createDirectoryProfileSource(site, 1 << 20);
  const pass = await planPass({ source, matcher, stateDir, log, memoKey: key });
  const { state } = pass.stateFile;
  for (const entry of pass.plan.toFetch) state.set(entry.name, { mtime: entry.mtime, digest: `sha256:${entry.name}`, outcome: 'published' });
  for (const name of pass.plan.gone) state.delete(name);
  await saveState(stateDir, pass.stateFile);
  await rememberPass({ stateDir, memoKey: key, pass });
  return { site, stateDir, source };
}

describe('planPass: from the lines that changed, or from the whole index', () => {
  const base = Array.from({ length: 300 }, (_, i) => line(`${i % 3 === 0 ? 'web' : 'db'}${String(i).padStart(3, '0')}.example.org.json`, 1_700_000_000 + i));

  it('plans every change as the whole index and state would, and declines what it cannot read', async () => {
    const fragments = ['<!--', '-->', '<profile', '</profile>', '&amp;', '', 'x', line('a&amp;b.json', 1)];
    let viaMemo = 0;
    for (const [label, matcher] of [['all', createMatcher('')], ['web', createMatcher('web')]] as const) {
      const key = memoKey('site', label, undefined);
      for (let seed = 1; seed <= 40; seed++) {
        const root = tempDir();
        try {
          mkdirSync(join(root.path, 'site'));
          const pick = seededRandom(seed);
          const lines = [...base];
          const { site, stateDir, source } = await cleanPass(root.path, lines, matcher, key);
          for (let round = 0; round < 3; round++) {
            for (let edits = 1 + pick(8); edits > 0; edits--) {
              const at = pick(lines.length);
              const op = pick(12);
              const name = /<profile mtime='\d+'>([^<]+)<\/profile>/.exec(lines[at] ?? '')?.[1];
              if (op < 5 && name) lines[at] = line(name, 1_800_000_000 + pick(1000));
              else if (op < 7) lines.splice(at, 0, line(`${pick(2) ? 'web' : 'db'}-new${pick(40)}.json`, pick(50)));
              else if (op < 9) lines.splice(at, 1 + pick(2));
              else if (op < 10) lines.splice(at, 0, fragments[pick(fragments.length)]!);
              else if (op < 11 && name) lines.splice(pick(lines.length), 0, line(name, 5)); // listed twice
              else lines.splice(at, 0, ...lines.splice(pick(lines.length), 1));
            }
            writeFileSync(join(site, 'profiles-info.xml'), indexText(lines));
            const memo = await planPass({ source, matcher, stateDir, log, memoKey: key });
            const whole = await planPass({ source, matcher, stateDir, log });
            assert.equal(whole.entries !== undefined, true);
            assert.deepEqual(summary(memo), summary(whole), `${label} seed ${seed} round ${round}`);
            if (!memo.entries) viaMemo++;
            // The next round starts from this pass, recorded cleanly.
            const { state } = memo.stateFile;
            for (const entry of memo.plan.toFetch) state.set(entry.name, { mtime: entry.mtime, digest: `sha256:${entry.name}`, outcome: 'published' });
            for (const name of memo.plan.gone) state.delete(name);
            await saveState(stateDir, memo.stateFile);
            if (memo.plan.invalid.length === 0) await rememberPass({ stateDir, memoKey: key, pass: memo });
          }
        } finally {
          root.remove();
        }
      }
    }
    assert.ok(viaMemo > 60, `only ${viaMemo} of 240 passes were planned from the memo`);
  });

  it('the memo holds only beside the state files it was written with, for its source and match', async () => {
    const root = tempDir();
    try {
      mkdirSync(join(root.path, 'site'));
      const matcher = createMatcher('');
      const key = memoKey('site', '', undefined);
      const { stateDir } = await cleanPass(root.path, base, matcher, key);
      assert.ok(await findIndexMemo(stateDir, key));
      assert.equal(await findIndexMemo(stateDir, memoKey('site', 'web', undefined)), undefined, 'another match');
      assert.equal(await findIndexMemo(stateDir, memoKey('other', '', undefined)), undefined, 'another source');
      const memoPath = join(stateDir, 'detector-index.memo');
      const memo = readFileSync(memoPath);
      writeFileSync(memoPath, memo.subarray(0, memo.length - 10));
      assert.equal(await findIndexMemo(stateDir, key), undefined, 'cut short');
      writeFileSync(memoPath, memo);
      assert.ok(await findIndexMemo(stateDir, key));
      // Another pass (direct mode, --baseline, a hand edit) changed the state: the memo no longer describes it.
      appendFileSync(join(stateDir, 'detector-state.journal'), '');
      const state = DetectorState.of([['web000.example.org.json', { mtime: '1', digest: 'sha256:x', outcome: 'published' }]]);
      await saveState(stateDir, { state, exists: true, generation: 1, journalLines: 0, byteDigests: false });
      assert.equal(await findIndexMemo(stateDir, key), undefined, 'state changed');
    } finally {
      root.remove();
    }
  });

  it('a damaged memo is no memo: the pass plans from the whole index, as without one', async () => {
    const root = tempDir();
    try {
      mkdirSync(join(root.path, 'site'));
      const matcher = createMatcher('');
      const key = memoKey('site', '', undefined);
      const { stateDir, source } = await cleanPass(root.path, base, matcher, key);
      const memoPath = join(stateDir, 'detector-index.memo');
      const memo = readFileSync(memoPath);
      const newline = memo.indexOf(10);
      for (const [label, bytes] of [
        ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256))],
        ['empty', Buffer.alloc(0)],
        ['a body longer than its header says', Buffer.concat([memo, Buffer.from(`${line('extra.json', 1)}\n`)])],
        ['a header that claims more records than matching entries', Buffer.concat([Buffer.from(memo.subarray(0, newline).toString().replace(/records=\d+/, 'records=9999')), memo.subarray(newline)])],
      ] as const) {
        writeFileSync(memoPath, bytes);
        assert.equal(await findIndexMemo(stateDir, key), undefined, label);
        const pass = await planPass({ source, matcher, stateDir, log, memoKey: key });
        assert.ok(pass.entries, `${label}: planned from the whole index`);
      }
    } finally {
      root.remove();
    }
  });
});
