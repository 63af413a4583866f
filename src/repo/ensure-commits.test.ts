import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageChange } from '../model.js';
import { createLogger, silentLogger } from '../shared/log.js';
import { cloneOf, git, gitEnv, repoWithRemote, tempDir } from '../../test/support/git-repos.js';
import { createGit } from './git.js';
import { ensureCommits } from './ensure-commits.js';

function change(key: string, body: string): ImageChange {
  return {
    key,
    files: [
      { path: `${key}/managed.json`, content: `{"image":"${key}","body":"${body}"}\n` },
      { path: `${key}/image.json`, content: `{"key":"${key}"}\n` },
    ],
    subject: `new image from ${key}.example.org.json`,
    trailers: { profiles: [{ name: `${key}.example.org.json`, digest: `sha256:${'0'.repeat(64)}` }], trigger: 'detect', messageIds: [] },
  };
}

describe('ensureCommits streams commits into one fast-import (real git, bare remote)', () => {
  const root = tempDir();
  let work: string;
  let remote: string;
  const options = () => ({ git: createGit(work, gitEnv), branch: 'main', remote: 'origin', pushRetries: 2, log: silentLogger() });

  before(() => {
    ({ work, remote } = repoWithRemote(root.path));
    writeFileSync(join(work, 'README'), 'image repo\n');
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'start');
    git(work, 'push', '--quiet', 'origin', 'main');
  });
  after(() => root.remove());

  it('renders lazily: each change is handed to git before the next one is asked for, all of them land in order', async () => {
    const start = git(remote, 'rev-parse', 'main');
    const events: string[] = [];
    const keys = Array.from({ length: 300 }, (_, i) => `img${String(i).padStart(3, '0')}`);
    function* produce() {
      for (const key of keys) {
        events.push(`render ${key}`);
        yield change(key, 'x'.repeat(40_000)); // 300 × 40 KB: more than the stream buffers before it waits
      }
    }
    const result = await ensureCommits({ ...options(), prepare: () => Promise.resolve(produce()), onCommitted: (count) => events.push(`committed ${count}`) });
    assert.equal(result.commits.length, 300);
    assert.equal(result.pushed, true);
    // Interleaved, never all rendered first.
    assert.deepEqual(events.slice(0, 4), ['render img000', 'committed 1', 'render img001', 'committed 2']);
    assert.equal(git(remote, 'rev-parse', 'main'), result.head);
    const subjects = git(remote, 'log', '--reverse', '--format=%s', `${start}..main`).split('\n');
    assert.deepEqual(subjects, keys.map((key) => `images(${key}): new image from ${key}.example.org.json`));
    // The summaries carry no files.
    assert.equal('files' in result.commits[0]!.change, false);
    assert.equal(existsSync(join(work, 'images', 'img299', 'managed.json')), true, 'checkout: true moves the work tree');
  });

  it('a change that fails half way leaves the branch, the remote and the private ref where they were', async () => {
    const tip = git(remote, 'rev-parse', 'main');
    function* produce() {
      yield change('img000', 'changed');
      yield change('img001', 'changed');
      throw new Error('template broke at the third image');
    }
    await assert.rejects(ensureCommits({ ...options(), prepare: () => Promise.resolve(produce()) }), /template broke at the third image/);
    assert.equal(git(remote, 'rev-parse', 'main'), tip);
    assert.equal(git(work, 'rev-parse', 'main'), tip);
    // Cleared before the stream started; a killed fast-import writes no ref.
    const privateRef = spawnSync('git', ['rev-parse', '--verify', '--quiet', 'refs/packuilon/pending'], { cwd: work, env: gitEnv, encoding: 'utf8' });
    assert.notEqual(privateRef.status, 0, `refs/packuilon/pending still points at ${privateRef.stdout}`);
    assert.equal(git(work, 'status', '--porcelain'), '');
  });

  it('identical bytes start no fast-import and make no commit', async () => {
    const tip = git(remote, 'rev-parse', 'main');
    const result = await ensureCommits({ ...options(), prepare: () => Promise.resolve([change('img000', 'x'.repeat(40_000))]) });
    assert.equal(result.commits.length, 0);
    assert.equal(result.head, tip);
  });

  it('checkout: false moves the branch ref alone: the work tree is left as it was, the next pass builds on the new tip', async () => {
    const before = readFileSync(join(work, 'images', 'img000', 'managed.json'), 'utf8');
    const first = await ensureCommits({ ...options(), checkout: false, prepare: () => Promise.resolve([change('img000', 'service clone')]) });
    assert.equal(first.commits.length, 1);
    assert.equal(git(work, 'rev-parse', 'main'), first.head);
    assert.equal(git(remote, 'rev-parse', 'main'), first.head);
    assert.equal(git(work, 'symbolic-ref', 'HEAD'), 'refs/heads/main');
    assert.equal(readFileSync(join(work, 'images', 'img000', 'managed.json'), 'utf8'), before, 'work tree not updated');
    const second = await ensureCommits({ ...options(), checkout: false, prepare: () => Promise.resolve([change('img001', 'service clone')]) });
    assert.equal(git(work, 'rev-parse', `${second.head}^`), first.head);
    assert.equal(git(remote, 'show', `main:images/img000/managed.json`), '{"image":"img000","body":"service clone"}');
  });
});

describe('a long stream sends its commits ahead to the remote while git still writes the later ones (real git, bare remote)', () => {
  const root = tempDir();
  after(() => root.remove());

  function capturingLogger() {
    const events: { msg: string; [field: string]: unknown }[] = [];
    const sink = { write: (line: string) => void events.push(JSON.parse(line) as { msg: string }) };
    return { log: createLogger({ LOG_LEVEL: 'debug' }, sink), events };
  }
  // 300 × 40 KB: more than the stream buffers, so the writer waits on git while staged pushes run.
  const keys = Array.from({ length: 300 }, (_, i) => `img${String(i).padStart(3, '0')}`);

  it('staged pushes land on refs/packuilon/staging/<branch> before the last commit is written; the branch moves once, to the head', async () => {
    const { work, remote } = repoWithRemote(join(root.path, 'accepts'));
    const start = git(remote, 'rev-parse', 'main');
    const { log, events } = capturingLogger();
    const order: string[] = [];
    const result = await ensureCommits({
      git: createGit(work, gitEnv), branch: 'main', remote: 'origin', pushRetries: 2, log, stageAfter: 16,
      prepare: () => Promise.resolve(keys.map((key) => change(key, 'x'.repeat(40_000)))),
      onCommitted: (count) => void order.push(`committed ${count}`, ...events.splice(0).filter((e) => e.msg === 'commits staged on the remote').map((e) => `staged ${String(e.commit)}`)),
    });
    assert.equal(result.commits.length, 300);
    assert.equal(git(remote, 'rev-parse', 'main'), result.head);
    const staged = order.filter((line) => line.startsWith('staged '));
    assert.ok(staged.length >= 1, `no staged push while commits were still written: ${order.slice(-3).join(', ')}`);
    assert.ok(order.indexOf(staged[0]!) < order.indexOf('committed 300'), 'the first staged push landed before the last commit was written');
    // Every staged commit is one of the pass's own, on the branch's history.
    const pass = new Set(git(remote, 'rev-list', `${start}..main`).split('\n'));
    for (const line of staged) assert.ok(pass.has(line.slice('staged '.length)), `${line} is not a commit of the pass`);
    const stagingTip = git(remote, 'rev-parse', 'refs/packuilon/staging/main');
    assert.ok(pass.has(stagingTip) && stagingTip !== result.head, 'the staging ref points into the pass, behind its head');
    assert.deepEqual(git(remote, 'log', '--reverse', '--format=%s', `${start}..main`).split('\n'), keys.map((key) => `images(${key}): new image from ${key}.example.org.json`));
  });

  it('another writer moves the branch while a long pass stages: the final push is rejected, the pass is prepared again on the new tip, nothing is lost', async () => {
    const { work, remote } = repoWithRemote(join(root.path, 'race'));
    const other = cloneOf(remote, join(root.path, 'race-other'));
    const { log, events } = capturingLogger();
    let prepared = 0;
    const result = await ensureCommits({
      git: createGit(work, gitEnv), branch: 'main', remote: 'origin', pushRetries: 2, log, stageAfter: 16,
      prepare: () => {
        prepared++;
        if (prepared === 1) {
          // The other writer lands first: our staged pushes do not touch the branch, our final push is refused.
          writeFileSync(join(other, 'OTHER'), 'another writer\n');
          git(other, 'add', '-A');
          git(other, 'commit', '--quiet', '-m', 'the other writer');
          git(other, 'push', '--quiet', 'origin', 'main');
        }
        return Promise.resolve(keys.map((key) => change(key, 'z'.repeat(40_000))));
      },
    });
    assert.equal(prepared, 2, 'prepared again on the remote\'s new tip');
    assert.equal(result.attempts, 2);
    assert.ok(events.some((e) => e.msg === 'commits staged on the remote'), 'the first attempt staged commits');
    assert.equal(git(remote, 'rev-parse', 'main'), result.head);
    const subjects = git(remote, 'log', '--reverse', '--format=%s', 'main').split('\n');
    assert.deepEqual(subjects.slice(-301), ['the other writer', ...keys.map((key) => `images(${key}): new image from ${key}.example.org.json`)]);
    assert.equal(git(remote, 'show', 'main:OTHER'), 'another writer');
  });

  it('a remote that refuses the staging ref: one line says so, the final push carries the whole pass', async () => {
    const { work, remote } = repoWithRemote(join(root.path, 'refuses'));
    const hook = join(remote, 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\nwhile read old new ref; do case "$ref" in refs/heads/*) ;; *) echo "only branches here: $ref" >&2; exit 1 ;; esac; done\n', { mode: 0o755 });
    const { log, events } = capturingLogger();
    const result = await ensureCommits({
      git: createGit(work, gitEnv), branch: 'main', remote: 'origin', pushRetries: 2, log, stageAfter: 16,
      prepare: () => Promise.resolve(keys.map((key) => change(key, 'y'.repeat(40_000)))),
    });
    assert.equal(result.pushed, true);
    assert.equal(git(remote, 'rev-parse', 'main'), result.head);
    assert.equal(Number(git(remote, 'rev-list', '--count', 'main')), 301);
    const refused = events.filter((e) => e.msg.startsWith('staged push refused'));
    assert.equal(refused.length, 1, 'said once, not per checkpoint');
    assert.match(String(refused[0]!.reason), /only branches here: refs\/packuilon\/staging\/main|pre-receive hook declined/);
    assert.equal(spawnSync('git', ['rev-parse', '--verify', '--quiet', 'refs/packuilon/staging/main'], { cwd: remote, env: gitEnv }).status, 1);
  });
});
