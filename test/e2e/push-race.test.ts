import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloneOf, git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

describe('pushing: races and an unreachable remote', () => {
  const root = tempDir();
  after(() => root.remove());
  const { work, remote } = repoWithRemote(root.path, 'seed');
  writeSite(work, { profilesDir: 'unused', stateDir: 'unused', remote: true });
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'site');
  git(work, 'push', '--quiet', 'origin', 'main');

  /** A clone with its own profile source and state, as a second detector host would be. */
  function detector(name: string, profiles: Record<string, { text: string; mtime: number }>) {
    const dir = cloneOf(remote, join(root.path, name));
    const profilesDir = join(root.path, `${name}-profiles`);
    writeProfiles(profilesDir, profiles);
    writeSite(dir, { profilesDir, stateDir: join(root.path, `${name}-state`), remote: true });
    git(dir, 'update-index', '--assume-unchanged', 'packuilon.yaml');
    return dir;
  }

  it('four detectors racing on one remote lose no commit and no profile', async () => {
    const hosts = ['a', 'b', 'c', 'd'];
    const dirs = hosts.map((host) =>
      detector(host, {
        // Same image for everyone, and one image each.
        [`${host}-shared.json`]: { text: profileText({ hostname: `${host}-shared` }), mtime: 1 },
        [`${host}-own.json`]: { text: profileText({ hostname: host, personality: `own${host}` }), mtime: 1 },
      }),
    );
    const results = await Promise.all(dirs.map((dir) => runCli(['detect', '--json'], { cwd: dir, env: gitEnv })));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const subjects = git(remote, 'log', '--format=%s', 'main').split('\n');
    for (const host of hosts) assert.ok(subjects.includes(`images(own${host}-sl7x-x86_64): new image from ${host}-own.json`), subjects.join('\n'));
    assert.equal(subjects.filter((s) => s.startsWith('images(nubesvms-sl7x-x86_64)')).length, 4);
    const manifest = JSON.parse(git(remote, 'show', 'main:images/nubesvms-sl7x-x86_64/image.json'));
    assert.deepEqual(Object.keys(manifest.profiles).sort(), hosts.map((h) => `${h}-shared.json`));
    // A rerun anywhere converges: nothing new.
    const rerun = await runCli(['detect', '--json'], { cwd: dirs[0]!, env: gitEnv });
    assert.equal(JSON.parse(rerun.stdout).fetched, 0);
    assert.equal(git(remote, 'log', '--format=%s', 'main').split('\n').length, subjects.length);
  });

  it('an unreachable remote exits 1, records nothing, and the rerun delivers', async () => {
    const dir = detector('offline', { 'late.json': { text: profileText({ hostname: 'late', personality: 'late' }), mtime: 5 } });
    renameSync(remote, `${remote}.away`);
    const failed = await runCli(['detect'], { cwd: dir, env: gitEnv });
    renameSync(`${remote}.away`, remote);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /packuilon: git (push|fetch) origin: remote unreachable/);
    assert.throws(() => readFileSync(join(root.path, 'offline-state', 'detector-state.tsv')));
    const retried = await runCli(['detect', '--json'], { cwd: dir, env: gitEnv });
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(JSON.parse(retried.stdout).committed, 1);
    assert.equal(git(remote, 'log', '-1', '--format=%s', 'main'), 'images(late-sl7x-x86_64): new image from late.json');
  });

  it('renders with the templates of the branch tip, not of a stale work tree', async () => {
    const stale = detector('stale', { 'fresh.json': { text: profileText({ hostname: 'fresh', personality: 'fresh' }), mtime: 7 } });
    const operator = cloneOf(remote, join(root.path, 'operator'));
    const template = join(operator, 'templates', 'managed.json');
    writeFileSync(template, readFileSync(template, 'utf8').replace('"communicator": "none"', '"communicator": "none", "boot_wait": "7s"'));
    git(operator, 'commit', '--quiet', '-am', 'templates: wait for boot');
    git(operator, 'push', '--quiet', 'origin', 'main');
    const result = await runCli(['detect'], { cwd: stale, env: gitEnv });
    assert.equal(result.code, 0, result.stderr);
    const build = JSON.parse(git(remote, 'show', 'main:images/fresh-sl7x-x86_64/managed.json'));
    assert.equal(build.builders[0].boot_wait, '7s');
  });
});
