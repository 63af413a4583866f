import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

describe('repo.checkout: false — a service clone whose work tree is never rewritten (real git, bare remote)', () => {
  const root = tempDir();
  let work: string;
  let remote: string;
  const profiles = join(root.path, 'profiles');

  before(() => {
    ({ work, remote } = repoWithRemote(root.path));
    const file = writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state'), remote: true });
    const config = parse(readFileSync(file, 'utf8')) as { repo: Record<string, unknown> };
    config.repo.checkout = false;
    writeFileSync(file, stringify(config));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
  });
  after(() => root.remove());

  const names = Array.from({ length: 40 }, (_, i) => `host${i}.example.org.json`);
  const site = Object.fromEntries(names.map((name, i) => [name, { text: profileText({ hostname: `host${i}`, personality: `p${i % 8}` }), mtime: 100 + i }]));
  const detect = () => runCli(['detect', '--json'], { cwd: work, env: { ...gitEnv } });

  it('commits and pushes every image; the branch moves, the work tree does not', async () => {
    writeProfiles(profiles, site);
    const result = await detect();
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { commits: number; committed: number };
    assert.equal(report.commits, 8);
    assert.equal(report.committed, 40);
    assert.equal(git(work, 'rev-parse', 'main'), git(remote, 'rev-parse', 'main'));
    assert.equal(git(work, 'symbolic-ref', 'HEAD'), 'refs/heads/main');
    const seen = git(remote, 'log', '--format=%(trailers:key=Profile,valueonly)', 'main').split('\n').filter(Boolean).sort();
    assert.deepEqual(seen, [...names].sort());
    assert.equal(existsSync(join(work, 'images', 'p0-sl7x-x86_64')), false, 'no image folder written into the work tree');
  });

  it('the next pass builds on the moved branch, not on the stale work tree', async () => {
    const tip = git(remote, 'rev-parse', 'main');
    writeProfiles(profiles, { ...site, 'host0.example.org.json': { text: profileText({ hostname: 'host0', personality: 'p0', extra: { kernel: '5.14' } }), mtime: 500 } });
    const result = await detect();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(git(remote, 'rev-parse', 'main^'), tip);
    assert.equal(git(remote, 'log', '-1', '--format=%s', 'main'), 'images(p0-sl7x-x86_64): rebuild for host0.example.org.json');
    // The image keeps the profiles it had: built from the commit, not from the (empty) work tree.
    const manifest = JSON.parse(git(remote, 'show', 'main:images/p0-sl7x-x86_64/image.json')) as { profiles: Record<string, string> };
    assert.deepEqual(Object.keys(manifest.profiles).sort(), ['host0.example.org.json', 'host16.example.org.json', 'host24.example.org.json', 'host32.example.org.json', 'host8.example.org.json']);
  });
});
