import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGit, readHistory } from '../../src/repo/index.js';
import { VERSION } from '../../src/version.js';
import { cloneOf, git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { LEGACY_TEMPLATE, profileText, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

const SOURCES = { 'sl7x-x86_64': '0b10e583-9e13-4878-9116-f4002846fa73', 'rocky8x-x86_64': '7eb100a3-680b-4544-99cc-950b8c4f6c74' };
const WEB_TEMPLATE = LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "web"');

describe('rerender and the auto re-render of detect (real git, bare remote)', () => {
  const root = tempDir();
  const profiles = join(root.path, 'profiles');
  const env = { ...gitEnv };
  let work: string;
  let remote: string;
  let human: string;

  before(async () => {
    ({ work, remote } = repoWithRemote(root.path));
    writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state'), remote: true, sources: SOURCES });
    writeFileSync(join(work, 'templates', 'web.json'), WEB_TEMPLATE);
    writeFileSync(join(work, 'templates', 'template-map.json'), JSON.stringify({ DEFAULT: ['templates/managed.json'], 'web-sl7x-x86_64': ['templates/web.json'] }, null, 2));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
    writeProfiles(profiles, {
      'a.json': { text: profileText({ hostname: 'a' }), mtime: 1 },
      'b.json': { text: profileText({ hostname: 'b', personality: 'web' }), mtime: 1 },
      'c.json': { text: profileText({ hostname: 'c', personality: 'db', os: 'rocky', osVersion: '8x' }), mtime: 1 },
      'd.json': { text: profileText({ hostname: 'd', personality: 'lab', sandbox: { author: 'alice', name: 'kernel' } }), mtime: 1 },
    });
    const first = await runCli(['detect'], { cwd: work, env });
    assert.equal(first.code, 0, first.stderr);
    human = cloneOf(remote, join(root.path, 'human'));
  });
  after(() => root.remove());

  const rerender = (...args: string[]) => runCli(['rerender', ...args], { cwd: work, env });
  const subjects = () => git(remote, 'log', '--format=%s', 'main').split('\n');
  /** An operator's change, committed in another clone and pushed: the service clone has not fetched it. */
  const humanChange = (file: string, content: string, message = `edit ${file}`) => {
    git(human, 'pull', '--quiet', '--ff-only');
    writeFileSync(join(human, file), content);
    git(human, 'commit', '--quiet', '-am', message);
    git(human, 'push', '--quiet', 'origin', 'main');
  };
  const remoteFile = (path: string) => git(remote, 'show', `main:${path}`);

  it('the first render records the facts and no generator; commits carry Packuilon-Version', () => {
    const manifest = JSON.parse(remoteFile('images/lab-sl7x-x86_64/image.json'));
    assert.equal(manifest.generator, undefined);
    assert.deepEqual(manifest.facts, { personality: 'lab', archetype: 'ral-tier1', os: 'sl', os_version: '7x', arch: 'x86_64', branch: { type: 'sandbox', name: 'kernel', author: 'alice' } });
    assert.match(git(remote, 'log', '-1', '--format=%B', 'main'), new RegExp(`\nPackuilon-Version: ${VERSION.replace(/\./g, '\\.')}\n?$`));
  });

  it('a template change re-renders only the images using it, one commit each, from the remote tip', async () => {
    const before = subjects().length;
    humanChange('templates/managed.json', LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "y"'));
    const result = await rerender();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /rerender: 4 images, 3 re-rendered in 3 commits, 1 unchanged, 0 skipped/);
    const added = subjects().slice(0, subjects().length - before - 1);
    assert.deepEqual(added.sort(), [
      'images(db-rocky8x-x86_64): re-rendered: templates/managed.json changed',
      'images(lab-sl7x-x86_64): re-rendered: templates/managed.json changed',
      'images(nubesvms-sl7x-x86_64): re-rendered: templates/managed.json changed',
    ]);
    const body = git(remote, 'log', '-1', '--format=%B', 'main');
    assert.match(body, /\n\nTrigger: rerender\nPackuilon-Version: /);
    assert.doesNotMatch(body, /Profile:/);
    assert.equal(JSON.parse(remoteFile('images/nubesvms-sl7x-x86_64/managed.json'))['post-processors'][0].custom_data.meta, 'y');
    assert.equal(JSON.parse(remoteFile('images/web-sl7x-x86_64/web.json'))['post-processors'][0].custom_data.meta, 'web');
    // The manifest keeps its profiles: a re-render is not a profile change.
    assert.deepEqual(Object.keys(JSON.parse(remoteFile('images/lab-sl7x-x86_64/image.json')).profiles), ['d.json']);
    assert.equal(git(work, 'status', '--porcelain'), '');
    assert.equal(git(work, 'rev-parse', 'HEAD'), git(remote, 'rev-parse', 'main'));
    const history = await readHistory(createGit(work, env), { key: 'db-rocky8x-x86_64' });
    assert.equal(history[0]!.trigger, 'rerender');
    assert.equal(history[0]!.version, VERSION);
  });

  it('a second run commits nothing', async () => {
    const before = subjects().length;
    const result = await rerender('--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.commits, 0);
    assert.ok(report.images.every((image: { outcome: string }) => image.outcome === 'unchanged'));
    assert.equal(subjects().length, before);
  });

  it('--dry-run lists a source-image change and writes nothing; the real run commits it', async () => {
    humanChange('images/source-images.json', JSON.stringify({ ...SOURCES, 'sl7x-x86_64': 'aaaaaaaa-new-sl7-image' }, null, 2));
    const head = git(work, 'rev-parse', 'HEAD');
    const remoteHead = git(remote, 'rev-parse', 'main');
    const dry = await rerender('--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout);
    assert.equal(report.dryRun, true);
    assert.deepEqual(report.images.filter((i: { outcome: string }) => i.outcome === 'rerendered').map((i: { key: string; changed: string[] }) => [i.key, i.changed]), [
      ['lab-sl7x-x86_64', ['images/source-images.json']],
      ['nubesvms-sl7x-x86_64', ['images/source-images.json']],
      ['web-sl7x-x86_64', ['images/source-images.json']],
    ]);
    assert.equal(git(work, 'rev-parse', 'HEAD'), head);
    assert.equal(git(remote, 'rev-parse', 'main'), remoteHead);
    assert.equal(git(work, 'status', '--porcelain'), '');
    const text = await rerender('--dry-run');
    assert.match(text.stdout, /3 would be re-rendered \(dry run: nothing written\)/);
    assert.match(text.stdout, /would re-render: web-sl7x-x86_64: images\/source-images\.json changed/);
    const real = await rerender('web-sl7x-x86_64');
    assert.equal(real.code, 0, real.stderr);
    assert.equal(subjects()[0], 'images(web-sl7x-x86_64): re-rendered: images/source-images.json changed');
    assert.equal(JSON.parse(remoteFile('images/web-sl7x-x86_64/image.json')).source_image, 'aaaaaaaa-new-sl7-image');
    assert.equal((await rerender()).code, 0);
    assert.equal(JSON.parse(remoteFile('images/nubesvms-sl7x-x86_64/image.json')).source_image, 'aaaaaaaa-new-sl7-image');
  });

  it('a key no longer in the map falls back to DEFAULT; the stale build file goes', async () => {
    humanChange('templates/template-map.json', JSON.stringify({ DEFAULT: ['templates/managed.json'] }, null, 2));
    const result = await rerender();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /re-rendered: web-sl7x-x86_64: templates\/template-map\.json changed/);
    assert.equal(subjects()[0], 'images(web-sl7x-x86_64): re-rendered: templates/template-map.json changed');
    const files = git(remote, 'ls-tree', '--name-only', 'main', 'images/web-sl7x-x86_64/').split('\n');
    assert.deepEqual(files, ['images/web-sl7x-x86_64/image.json', 'images/web-sl7x-x86_64/managed.json']);
  });

  it('an image whose source image is gone is skipped with one line, its files untouched', async () => {
    const before = git(remote, 'rev-parse', 'main:images/db-rocky8x-x86_64');
    humanChange('images/source-images.json', JSON.stringify({ 'sl7x-x86_64': 'aaaaaaaa-new-sl7-image' }, null, 2));
    humanChange('templates/managed.json', LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "z"'));
    const result = await rerender();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\n {2}skipped: db-rocky8x-x86_64: no source image for rocky8x-x86_64\n/);
    assert.match(result.stdout, /3 re-rendered in 3 commits, 0 unchanged, 1 skipped/);
    assert.equal(git(remote, 'rev-parse', 'main:images/db-rocky8x-x86_64'), before);
  });

  it('an earlier release\'s manifest (generator, no facts) makes no commit when nothing else differs', async () => {
    git(human, 'pull', '--quiet', '--ff-only');
    for (const key of ['nubesvms-sl7x-x86_64', 'lab-sl7x-x86_64']) {
      const path = join(human, 'images', key, 'image.json');
      const { facts: _facts, ...old } = JSON.parse(readFileSync(path, 'utf8'));
      void _facts;
      writeFileSync(path, `${JSON.stringify({ ...old, generator: 'packuilon/0.0.9' }, null, 2)}\n`);
    }
    git(human, 'commit', '--quiet', '-am', 'images: as an earlier release wrote them');
    git(human, 'push', '--quiet', 'origin', 'main');
    const before = subjects().length;
    const result = await rerender('--json');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).commits, 0);
    assert.equal(subjects().length, before);
    assert.match(remoteFile('images/lab-sl7x-x86_64/image.json'), /"generator": "packuilon\/0\.0\.9"/);
    // A real change still re-renders it, from the facts derived from metadata + key, and drops the field.
    humanChange('templates/managed.json', LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "w"'));
    assert.equal((await rerender('lab-sl7x-x86_64')).code, 0);
    const manifest = JSON.parse(remoteFile('images/lab-sl7x-x86_64/image.json'));
    assert.equal(manifest.generator, undefined);
    assert.deepEqual(manifest.facts.branch, { type: 'sandbox', name: 'kernel', author: 'alice' });
    assert.equal(manifest.metadata.AQ_SANDBOX, 'alice/kernel');
  });

  it('bad manifests and bad keys: one line each, exit 0 for an image, exit 2 for usage', async () => {
    git(human, 'pull', '--quiet', '--ff-only');
    writeFileSync(join(human, 'images', 'nubesvms-sl7x-x86_64', 'image.json'), '{"image_key": "nubesvms-sl7x-x86_64", "metadata": {');
    const path = join(human, 'images', 'lab-sl7x-x86_64', 'image.json');
    const { facts: _f, ...noFacts } = JSON.parse(readFileSync(path, 'utf8'));
    void _f;
    writeFileSync(path, `${JSON.stringify({ ...noFacts, metadata: { ...noFacts.metadata, AQ_SANDBOX: 'a/b/c' } }, null, 2)}\n`);
    git(human, 'commit', '--quiet', '-am', 'images: damaged by hand');
    git(human, 'push', '--quiet', 'origin', 'main');
    humanChange('templates/managed.json', LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "v"'));
    const result = await rerender();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /skipped: nubesvms-sl7x-x86_64: images\/nubesvms-sl7x-x86_64\/image\.json: not valid JSON/);
    assert.match(result.stdout, /skipped: lab-sl7x-x86_64: images\/lab-sl7x-x86_64\/image\.json: cannot re-render without a profile: AQ_SANDBOX "a\/b\/c" is not author\/name/);
    assert.equal(result.stdout.split('\n').filter((line) => line.includes('nubesvms-sl7x-x86_64')).length, 1);
    for (const bad of ['../etc', 'no-such-image', '$(id)']) {
      const refused = await rerender(bad);
      assert.equal(refused.code, 2, `${bad}: ${refused.stdout}`);
      assert.equal(refused.stderr.trim().split('\n').length, 1);
    }
  });

  it('detect re-renders by itself when an input moved, and costs nothing the pass after', async () => {
    // Repair the hand-damaged manifests (a human change) so every image re-renders again.
    git(human, 'pull', '--quiet', '--ff-only');
    git(human, 'rm', '--quiet', '-r', 'images/nubesvms-sl7x-x86_64', 'images/lab-sl7x-x86_64');
    writeFileSync(join(human, 'images', 'source-images.json'), JSON.stringify(SOURCES, null, 2));
    git(human, 'commit', '--quiet', '-am', 'retire two images, rocky8x back');
    git(human, 'push', '--quiet', 'origin', 'main');
    const detect = () => runCli(['detect', '--json'], { cwd: work, env });
    const first = await detect();
    assert.equal(first.code, 0, first.stderr);
    // The inputs moved since the last detect pass (in before()): each image names what changed for it.
    assert.deepEqual(JSON.parse(first.stdout).rerender.images.map((i: { key: string; changed: string[] }) => [i.key, i.changed]), [
      ['db-rocky8x-x86_64', ['templates/managed.json']],
      ['web-sl7x-x86_64', ['images/source-images.json']],
    ]);
    const before = subjects().length;
    humanChange('templates/managed.json', LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "auto"'));
    const moved = await detect();
    assert.equal(moved.code, 0, moved.stderr);
    const report = JSON.parse(moved.stdout);
    assert.equal(report.rerender.commits, 2);
    assert.equal(subjects().length, before + 3);
    assert.deepEqual(subjects().slice(0, 2).sort(), ['images(db-rocky8x-x86_64): re-rendered: templates/managed.json changed', 'images(web-sl7x-x86_64): re-rendered: templates/managed.json changed']);
    const quiet = await detect();
    assert.equal(JSON.parse(quiet.stdout).rerender, undefined);
    assert.equal(subjects().length, before + 3);
    // image_name is an input too (a config change, no commit of its own).
    const config = join(work, 'packuilon.yaml');
    writeFileSync(config, `${readFileSync(config, 'utf8')}image_name: "Next-{personality}-{os}{os_version}-{arch}"\n`);
    const renamed = await detect();
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.match(subjects()[0]!, /^images\((db-rocky8x|web-sl7x)-x86_64\): re-rendered: image_name changed$/);
    assert.equal(JSON.parse(remoteFile('images/web-sl7x-x86_64/image.json')).image_name, 'Next-web-sl7x-x86_64');
  });

  it('hosts that left the index: no rebuild, dropped at the next render, orphans reported and kept', async () => {
    // web-sl7x-x86_64 gets a second host; then b leaves and e changes; db's only host c leaves.
    writeProfiles(profiles, {
      'a.json': { text: profileText({ hostname: 'a' }), mtime: 1 },
      'b.json': { text: profileText({ hostname: 'b', personality: 'web' }), mtime: 1 },
      'c.json': { text: profileText({ hostname: 'c', personality: 'db', os: 'rocky', osVersion: '8x' }), mtime: 1 },
      'd.json': { text: profileText({ hostname: 'd', personality: 'lab', sandbox: { author: 'alice', name: 'kernel' } }), mtime: 1 },
      'e.json': { text: profileText({ hostname: 'e', personality: 'web' }), mtime: 5 },
    });
    assert.equal((await runCli(['detect'], { cwd: work, env })).code, 0);
    assert.deepEqual(Object.keys(JSON.parse(remoteFile('images/web-sl7x-x86_64/image.json')).profiles), ['b.json', 'e.json']);
    writeProfiles(profiles, {
      'a.json': { text: profileText({ hostname: 'a' }), mtime: 1 },
      'd.json': { text: profileText({ hostname: 'd', personality: 'lab', sandbox: { author: 'alice', name: 'kernel' } }), mtime: 1 },
      'e.json': { text: profileText({ hostname: 'e', personality: 'web' }), mtime: 5 },
    });
    const before = subjects().length;
    const gone = await runCli(['detect', '--json'], { cwd: work, env });
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal(subjects().length, before, 'a deletion alone does not rebuild');
    assert.deepEqual(JSON.parse(gone.stdout).orphaned, ['db-rocky8x-x86_64']);
    const text = await runCli(['detect'], { cwd: work, env });
    assert.match(text.stdout, /1 orphaned images/);
    assert.match(text.stdout, /\n {2}orphaned: db-rocky8x-x86_64: no profile of it is left in the index \(retire it with git rm -r images\/db-rocky8x-x86_64\)\n/);
    assert.ok(existsSync(join(work, 'images', 'db-rocky8x-x86_64', 'image.json')));
    writeProfiles(profiles, {
      'a.json': { text: profileText({ hostname: 'a' }), mtime: 1 },
      'd.json': { text: profileText({ hostname: 'd', personality: 'lab', sandbox: { author: 'alice', name: 'kernel' } }), mtime: 1 },
      'e.json': { text: profileText({ hostname: 'e', personality: 'web', extra: 'new kernel' }), mtime: 9 },
    });
    assert.equal((await runCli(['detect'], { cwd: work, env })).code, 0);
    assert.equal(subjects()[0], 'images(web-sl7x-x86_64): rebuild for e.json');
    assert.deepEqual(Object.keys(JSON.parse(remoteFile('images/web-sl7x-x86_64/image.json')).profiles), ['e.json']);
    // rerender has no index: it drops nothing.
    humanChange('templates/managed.json', LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "last"'));
    assert.equal((await rerender()).code, 0);
    assert.deepEqual(Object.keys(JSON.parse(remoteFile('images/db-rocky8x-x86_64/image.json')).profiles), ['c.json']);
  });

  it('damaged state files are caches: detect passes, records again, and still re-renders after the next change', async () => {
    const state = join(root.path, 'state');
    for (const [file, junk] of [['rerender-inputs.json', '{"image_name": 7'], ['orphaned-images.json', '[1,2'], ['departed-profiles.txt', '\u0000\n../../x\n']] as const) {
      writeFileSync(join(state, file), junk);
    }
    const first = await runCli(['detect', '--json'], { cwd: work, env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).rerender, undefined, 'no record: only records');
    assert.equal(typeof JSON.parse(readFileSync(join(state, 'rerender-inputs.json'), 'utf8')).ids, 'object');
    humanChange('templates/managed.json', LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "after-damage"'));
    const moved = await runCli(['detect', '--json'], { cwd: work, env });
    assert.equal(moved.code, 0, moved.stderr);
    assert.ok(JSON.parse(moved.stdout).rerender.commits >= 1);
  });
});
