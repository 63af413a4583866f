import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

describe('detect in direct mode (directory source, real git, bare remote)', () => {
  const root = tempDir();
  let work: string;
  let remote: string;
  const profiles = join(root.path, 'profiles');
  const env = { ...gitEnv };

  before(() => {
    ({ work, remote } = repoWithRemote(root.path));
    writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state'), remote: true, match: '.cloud.template.json' });
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
  });
  after(() => root.remove());

  const detect = (...args: string[]) => runCli(['detect', ...args], { cwd: work, env });
  const remoteLog = () => git(remote, 'log', '--format=%s', 'main').split('\n');

  it('commits one image per key on the first pass, with trailers, and pushes', async () => {
    writeProfiles(profiles, {
      'a.cloud.template.json': { text: profileText({ hostname: 'a' }), mtime: 100 },
      'b.cloud.template.json': { text: profileText({ hostname: 'b', personality: 'web' }), mtime: 100 },
      'c.cloud.template.json': { text: profileText({ hostname: 'c', personality: 'web' }), mtime: 101 },
      'ordinary.example.org.json': { text: profileText({ hostname: 'o' }), mtime: 100 },
    });
    const result = await detect();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /3 matching profiles, 3 fetched, 3 changed, 0 recompiled without change, 3 committed in 2 image commits/);
    const subjects = remoteLog();
    assert.deepEqual(subjects.slice(0, 2).sort(), ['images(nubesvms-sl7x-x86_64): new image from a.cloud.template.json', 'images(web-sl7x-x86_64): new image from b.cloud.template.json and 1 other profile']);
    const body = git(remote, 'log', '-1', '--format=%B', '--grep=web-sl7x', 'main');
    assert.match(body, /Profile: b\.cloud\.template\.json\nProfile-Digest: sha256:[0-9a-f]{64}\nProfile: c\.cloud\.template\.json\nProfile-Digest: sha256:[0-9a-f]{64}\nTrigger: detect/);
    const manifest = JSON.parse(readFileSync(join(work, 'images', 'web-sl7x-x86_64', 'image.json'), 'utf8'));
    assert.deepEqual(Object.keys(manifest.profiles), ['b.cloud.template.json', 'c.cloud.template.json']);
    const build = JSON.parse(readFileSync(join(work, 'images', 'web-sl7x-x86_64', 'managed.json'), 'utf8'));
    assert.equal(build.builders[0].name, 'web-sl7x-x86_64');
    assert.equal(build._instance_metadata.AQ_PERSONALITY, 'web');
    assert.equal(git(work, 'status', '--porcelain'), '');
  });

  it('a recompile with identical bytes commits nothing; a real change commits once', async () => {
    const before = remoteLog().length;
    writeProfiles(profiles, {
      'a.cloud.template.json': { text: profileText({ hostname: 'a' }), mtime: 200 },
      'b.cloud.template.json': { text: profileText({ hostname: 'b', personality: 'web', extra: { kernel: '5.14' } }), mtime: 200 },
      'c.cloud.template.json': { text: profileText({ hostname: 'c', personality: 'web' }), mtime: 101 },
    });
    const result = await detect('--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.fetched, 2);
    assert.equal(report.recompiled, 1);
    assert.equal(report.committed, 1);
    assert.equal(remoteLog().length, before + 1);
    assert.equal(remoteLog()[0], 'images(web-sl7x-x86_64): rebuild for b.cloud.template.json');
    const again = await detect('--json');
    assert.equal(JSON.parse(again.stdout).fetched, 0);
    assert.equal(remoteLog().length, before + 1);
  });

  it('rejects a bad profile with its name and field, commits the good ones, and does not retry it', async () => {
    writeProfiles(profiles, {
      'a.cloud.template.json': { text: profileText({ hostname: 'a' }), mtime: 200 },
      'b.cloud.template.json': { text: profileText({ hostname: 'b', personality: 'web', extra: { kernel: '5.14' } }), mtime: 200 },
      'c.cloud.template.json': { text: profileText({ hostname: 'c', personality: 'web' }), mtime: 101 },
      'bad.cloud.template.json': { text: profileText({ personality: 'x$(rm -rf /)' }), mtime: 300 },
      'torn.cloud.template.json': { text: '{"system": {', mtime: 300 },
      'nosource.cloud.template.json': { text: profileText({ os: 'centos', osVersion: '6x' }), mtime: 300 },
      'types.cloud.template.json': { text: profileText().replace('"name": "nubesvms"', '"name": 42'), mtime: 300 },
      'huge.cloud.template.json': { text: profileText({ hostname: 'huge', personality: 'huge', extra: 'x'.repeat(5 * 1024 * 1024) }), mtime: 300 },
    });
    const result = await detect();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /rejected: profile bad\.cloud\.template\.json: system\.personality\.name: "x\$\(rm -rf \/\)" is not a safe name/);
    assert.match(result.stdout, /rejected: profile torn\.cloud\.template\.json: not valid JSON/);
    assert.match(result.stdout, /skipped: no source image for centos6x-x86_64/);
    assert.match(result.stdout, /rejected: profile types\.cloud\.template\.json: system\.personality\.name: Invalid input: expected string, received number/);
    assert.match(result.stdout, /3 committed|1 committed/);
    assert.ok(existsSync(join(work, 'images', 'huge-sl7x-x86_64', 'managed.json')), 'a 5 MB profile renders like any other');
    assert.ok(!existsSync(join(work, 'images', 'x$(rm -rf ')));
    const again = await detect('--json');
    assert.equal(JSON.parse(again.stdout).fetched, 0);
  });
});
