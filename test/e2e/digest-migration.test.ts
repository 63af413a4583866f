import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileDocument, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

const byteDigest = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * A site as the previous release left it: state and manifests hold sha256 of
 * the profile bytes. Made here by running detect, then rewriting every digest
 * it recorded to the byte digest and the state header to v1, as that release wrote them.
 */
describe('canonical digests: upgrading a site whose state and manifests hold byte digests', () => {
  const root = tempDir();
  const profiles = join(root.path, 'profiles');
  const stateDir = join(root.path, 'state');
  let work: string;
  let remote: string;
  const detect = async () => {
    const result = await runCli(['detect', '--json'], { cwd: work, env: gitEnv });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as { fetched: number; changed: number; committed: number; commits: number; recompiled: number };
  };
  const commits = () => Number(git(remote, 'rev-list', '--count', 'main'));
  // Aquilon's formatting today (2-space) and after an upgrade (compact, keys in another order).
  const today = (fields: Parameters<typeof profileDocument>[0]) => `${JSON.stringify(profileDocument(fields), null, 2)}\n`;
  const reformatted = (fields: Parameters<typeof profileDocument>[0]) => {
    const document = profileDocument(fields);
    return JSON.stringify({ system: document.system, metadata: document.metadata });
  };
  const hosts = { 'a.json': { hostname: 'a' }, 'b.json': { hostname: 'b' }, 'c.json': { hostname: 'c', personality: 'web' } };

  before(async () => {
    ({ work, remote } = repoWithRemote(root.path));
    writeSite(work, { profilesDir: profiles, stateDir, remote: true });
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
    writeProfiles(profiles, Object.fromEntries(Object.entries(hosts).map(([name, fields]) => [name, { text: today(fields), mtime: 100 }])));
    assert.equal((await detect()).committed, 3);
    // Back to what the previous release wrote.
    const bytesOf = (name: string) => readFileSync(join(profiles, name));
    for (const key of readdirSync(join(work, 'images')).filter((entry) => !entry.endsWith('.json'))) {
      const path = join(work, 'images', key, 'image.json');
      const manifest = JSON.parse(readFileSync(path, 'utf8'));
      for (const name of Object.keys(manifest.profiles)) manifest.profiles[name] = byteDigest(bytesOf(name));
      writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
    }
    git(work, 'commit', '--quiet', '-am', 'as the previous release recorded it');
    git(work, 'push', '--quiet', 'origin', 'main');
    const lines = [`# packuilon detector state v1 generation 1: name\tmtime\tdigest\toutcome`];
    for (const name of Object.keys(hosts)) lines.push(`${name}\t100\t${byteDigest(bytesOf(name))}\tcommitted`);
    rmSync(join(stateDir, 'detector-state.journal'), { force: true });
    writeFileSync(join(stateDir, 'detector-state.tsv'), `${lines.join('\n')}\n`);
  });
  after(() => root.remove());

  const stateLines = () => readFileSync(join(stateDir, 'detector-state.tsv'), 'utf8').split('\n');

  it('the first pass downloads every profile once, commits nothing and records canonical digests (state v3)', async () => {
    const before = commits();
    const report = await detect();
    assert.equal(report.fetched, 3, 'every profile, though no mtime moved');
    assert.equal(report.changed, 0);
    assert.equal(report.commits, 0);
    assert.equal(commits(), before);
    const lines = stateLines();
    assert.match(lines[0]!, /^# packuilon detector state v3 generation 2:/);
    for (const name of Object.keys(hosts)) {
      const line = lines.find((l) => l.startsWith(`${name}\t`))!;
      assert.notEqual(line.split('\t')[2], byteDigest(readFileSync(join(profiles, name))), 'canonical, not the bytes');
      assert.equal(line.split('\t')[4], createHash('sha256').update(readFileSync(join(profiles, name))).digest('base64url').slice(0, 22), 'and the short digest of the bytes, for the next recompile');
    }
    assert.ok(!existsSync(join(stateDir, 'detector-state.journal')));
    assert.equal((await detect()).fetched, 0, 'migrated once: the next pass fetches by mtime again');
  });

  it('an Aquilon upgrade that reformats every profile rebuilds nothing', async () => {
    const before = commits();
    writeProfiles(profiles, Object.fromEntries(Object.entries(hosts).map(([name, fields]) => [name, { text: reformatted(fields), mtime: 200 }])));
    const report = await detect();
    assert.equal(report.fetched, 3);
    assert.equal(report.recompiled, 3);
    assert.equal(report.commits, 0);
    assert.equal(commits(), before);
  });

  it('a real change commits once; the manifest records its canonical digest and keeps the others as they were', async () => {
    const before = commits();
    const manifestBefore = JSON.parse(readFileSync(join(work, 'images', 'nubesvms-sl7x-x86_64', 'image.json'), 'utf8'));
    writeProfiles(profiles, {
      'a.json': { text: reformatted({ hostname: 'a', extra: { kernel: '5.14' } }), mtime: 300 },
      'b.json': { text: reformatted(hosts['b.json']), mtime: 200 },
      'c.json': { text: reformatted(hosts['c.json']), mtime: 200 },
    });
    const report = await detect();
    assert.equal(report.commits, 1);
    assert.equal(commits(), before + 1);
    git(work, 'pull', '--quiet', '--ff-only', 'origin', 'main');
    const manifest = JSON.parse(readFileSync(join(work, 'images', 'nubesvms-sl7x-x86_64', 'image.json'), 'utf8'));
    assert.notEqual(manifest.profiles['a.json'], manifestBefore.profiles['a.json']);
    assert.equal(manifest.profiles['b.json'], manifestBefore.profiles['b.json'], 'a profile that did not change keeps its record');
    const trailer = git(remote, 'log', '-1', '--format=%B', 'main');
    assert.match(trailer, new RegExp(`Profile: a\\.json\\nProfile-Digest: ${manifest.profiles['a.json']}`));
  });

  it('with the state lost, profiles that a manifest records by their byte digest are not a change (as a queue redelivery)', async () => {
    const before = commits();
    writeProfiles(profiles, {
      'a.json': { text: reformatted({ hostname: 'a', extra: { kernel: '5.14' } }), mtime: 400 },
      'b.json': { text: today(hosts['b.json']), mtime: 400 },
      'c.json': { text: today(hosts['c.json']), mtime: 400 },
    });
    rmSync(stateDir, { recursive: true, force: true });
    const report = await detect();
    assert.equal(report.changed, 3, 'no state: every profile goes to render');
    assert.equal(report.commits, 0);
    assert.equal(commits(), before);
  });
});
