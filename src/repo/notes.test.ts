import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../shared/log.js';
import { git, gitEnv, tempDir, repoWithRemote, cloneOf } from '../../test/support/git-repos.js';
import { createGit } from './git.js';
import { readHistory } from './history.js';
import { recordEvents, readEvents, NOTES_REF, type ImageEvent } from './notes.js';

const log = silentLogger();
const event = (type: ImageEvent['type'], id: string, key = 'web-sl7x-x86_64'): ImageEvent => ({ id, type, key, at: '2026-12-02T17:00:00.000Z', summary: `${type} ${id}` });

function imageCommit(work: string, key: string): string {
  mkdirSync(join(work, 'images', key), { recursive: true });
  writeFileSync(join(work, 'images', key, 'image.json'), `{"image_key":"${key}"}\n`);
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', `images(${key}): new`);
  const sha = git(work, 'rev-parse', 'HEAD');
  // a later commit of another image: the pipeline's head
  mkdirSync(join(work, 'images', 'other'), { recursive: true });
  writeFileSync(join(work, 'images', 'other', 'image.json'), '{}\n');
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'images(other): new');
  git(work, 'push', '--quiet', 'origin', 'main');
  return sha;
}

test('events are noted on the image\'s commit, pushed, shown by history, recorded once, and move no branch', async () => {
  const dir = tempDir();
  try {
    const { remote, work } = repoWithRemote(dir.path);
    const built = imageCommit(work, 'web-sl7x-x86_64');
    const head = git(work, 'rev-parse', 'HEAD');
    const g = createGit(work, gitEnv);
    const noted = await recordEvents(g, [event('build', 'b1'), event('promote', 'p1')], { commit: head, remote: 'origin', log });
    assert.equal(noted, built, 'on the last commit that changed images/<key>/, not the pipeline head');
    await recordEvents(g, [event('promote', 'p1')], { commit: head, remote: 'origin', log });
    assert.deepEqual((await readEvents(g)).get(built)?.map((e) => e.id), ['b1', 'p1'], 'a rerun records nothing twice');
    assert.equal(git(work, 'rev-parse', 'HEAD'), head, 'no commit on the branch');
    assert.equal(git(remote, 'rev-parse', 'main'), head, 'the remote branch did not move: no pipeline, nothing for ci plan');
    assert.match(git(remote, 'notes', `--ref=${NOTES_REF}`, 'show', built), /"id":"p1"/);
    const history = await readHistory(g, { key: 'web-sl7x-x86_64' });
    assert.deepEqual(history[0]?.events.map((e) => e.type), ['build', 'promote']);
  } finally {
    dir.remove();
  }
});

test('two jobs recording at once: the notes push race is retried and both events land', async () => {
  const dir = tempDir();
  try {
    const { remote, work } = repoWithRemote(dir.path);
    const built = imageCommit(work, 'a-sl7x-x86_64');
    const clones = [cloneOf(remote, join(dir.path, 'job1')), cloneOf(remote, join(dir.path, 'job2')), cloneOf(remote, join(dir.path, 'job3'))];
    await Promise.all(clones.map((clone, i) => recordEvents(createGit(clone, gitEnv), [event('test', `t${i}`, 'a-sl7x-x86_64')], { commit: 'HEAD', remote: 'origin', log, retries: 20 })));
    const reader = cloneOf(remote, join(dir.path, 'reader'));
    git(reader, 'fetch', '--quiet', 'origin', `${NOTES_REF}:${NOTES_REF}`);
    const ids = (await readEvents(createGit(reader, gitEnv))).get(built)?.map((e) => e.id).sort();
    assert.deepEqual(ids, ['t0', 't1', 't2']);
  } finally {
    dir.remove();
  }
});

test('a hostile note (not JSON, wrong shapes) is ignored, never fatal', async () => {
  const dir = tempDir();
  try {
    const { work } = repoWithRemote(dir.path);
    const built = imageCommit(work, 'h-sl7x-x86_64');
    git(work, 'notes', `--ref=${NOTES_REF}`, 'add', '-m', 'not json\n[1,2]\n{"type":3}\n{"id":"x","type":"promote","key":"h-sl7x-x86_64","at":"t"}', built);
    const events = (await readEvents(createGit(work, gitEnv))).get(built);
    assert.deepEqual(events?.map((e) => e.id), ['x']);
  } finally {
    dir.remove();
  }
});
