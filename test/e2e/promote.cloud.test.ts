// ci promote / ci reject / rollback / prune through the CLI: build.json in, Glance
// changed, promote.json out, the events noted in git and pushed, history shows them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/shared/log.js';
import { createGlance, createSession, resolveCredentials } from '../../src/openstack/index.js';
import { runCli } from '../support/cli.js';
import { git, gitEnv, tempDir, repoWithRemote } from '../support/git-repos.js';
import { sharedOpenstack, openrc } from '../support/openstack.js';

const { info, release } = await sharedOpenstack();
test.after(() => release());
const glance = createGlance(createSession({ credentials: resolveCredentials({ env: openrc(info, 'image-admin'), cwd: '/nonexistent' }), log: silentLogger() }));

test('ci promote KEY from the build record, ci reject, rollback (exit 1 with nothing to roll back), prune, history', { timeout: 900_000 }, async () => {
  const dir = tempDir();
  try {
    const { remote, work } = repoWithRemote(dir.path);
    const key = `e2e${process.pid}-sl7x-x86_64`;
    const name = `e2e-${process.pid}-${Date.now()}`;
    writeFileSync(join(work, 'packuilon.yaml'), 'repo:\n  remote: origin\npromote:\n  keep: 0\n  prune: delete\n');
    mkdirSync(join(work, 'images', key), { recursive: true });
    writeFileSync(join(work, 'images', key, 'image.json'), JSON.stringify({ image_key: key, profiles: { 'h1.example.org': 'sha256:11' } }));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', `images(${key}): new`);
    git(work, 'push', '--quiet', 'origin', 'main');
    const sha = git(work, 'rev-parse', 'HEAD');
    const env = { ...gitEnv, ...openrc(info, 'image-admin'), CI_COMMIT_SHA: sha, CI_PIPELINE_URL: 'https://ci.example.org/p/1' };
    const build = async (label: string) => {
      const made = await glance.create({ name: `Next-${name}`, disk_format: 'raw', container_format: 'bare' });
      await glance.upload(made.id, Buffer.from(label));
      mkdirSync(join(work, 'out', key), { recursive: true });
      writeFileSync(join(work, 'out', key, 'build.json'), JSON.stringify({ key, commit: sha, builds: [{ file: 'managed.json', image_name: `Next-${name}`, image_id: made.id, artifact: null, exit_code: 0, log: `out/${key}/packer-managed.log` }] }));
      return made.id;
    };

    const first = await build('one');
    const promoted = await runCli(['ci', 'promote', key], { cwd: work, env });
    assert.equal(promoted.code, 0, promoted.stderr);
    assert.match(promoted.stdout, new RegExp(`promote ${key}: done, \\d+ change\\(s\\)`));
    assert.equal((await glance.get(first)).name, name);
    const record = JSON.parse(readFileSync(join(work, 'out', key, 'promote.json'), 'utf8')) as { status: string; images: { id: string; after: string }[] };
    assert.deepEqual(record.images, [{ id: first, before: `Next-${name}`, after: name }]);

    const nothing = await runCli(['rollback', key], { cwd: work, env });
    assert.equal(nothing.code, 1, 'nothing to roll back: exit 1');
    assert.match(nothing.stdout, new RegExp(`nothing to roll back: ${name}`));

    const bad = await build('bad');
    // The pipeline's reject job (on any failure of the chain): a test that could not say rejects nothing …
    const testRecord = join(work, 'out', key, 'test.json');
    writeFileSync(testRecord, JSON.stringify({ key, verdict: 'error', reasons: ['Keystone down'], task_uuid: null, image_ids: [bad] }));
    const unsure = await runCli(['ci', 'reject', key, '--if-failed'], { cwd: work, env });
    assert.equal(unsure.code, 0, unsure.stderr);
    assert.equal(unsure.stdout, `ci reject ${key}: nothing rejected: the test's verdict is error (Keystone down): only a failed test rejects an image\n`);
    assert.equal((await glance.get(bad)).name, `Next-${name}`, 'left as it was');
    // … a failed test rejects the images the test judged.
    writeFileSync(testRecord, JSON.stringify({ key, verdict: 'fail', reasons: ['sla failure_rate: 100% > 20%'], task_uuid: 't1', image_ids: [bad] }));
    const rejected = await runCli(['ci', 'reject', key, '--if-failed'], { cwd: work, env });
    assert.equal(rejected.code, 0, rejected.stderr);
    rmSync(testRecord);
    assert.match((await glance.get(bad)).name ?? '', new RegExp(`^broken-${name}-`));
    assert.equal((await glance.get(first)).name, name, 'the current image untouched');

    const second = await build('two');
    assert.equal((await runCli(['ci', 'promote', key, '--json'], { cwd: work, env })).code, 0);
    const back = await runCli(['rollback', key], { cwd: work, env });
    assert.equal(back.code, 0, back.stderr);
    assert.equal((await glance.get(first)).name, name, 'the first is current again');
    assert.match((await glance.get(second)).name ?? '', /^warehoused-/);

    const dry = await runCli(['prune', key], { cwd: work, env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would: ${second}`));
    assert.equal((await runCli(['prune', key, '--apply'], { cwd: work, env })).code, 0);
    assert.equal(await glance.find(second), null, 'promote.prune: delete, keep 0');
    assert.ok(await glance.find(bad), 'a broken image is not warehoused: retention leaves it');

    // the record: notes on the image's commit, pushed; the branch did not move
    assert.equal(git(remote, 'rev-parse', 'main'), sha);
    const history = await runCli(['history', key, '--json'], { cwd: work, env });
    const entries = JSON.parse(history.stdout) as { events: { type: string }[] }[];
    assert.deepEqual(entries[0]!.events.map((e) => e.type), ['build', 'promote', 'build', 'test', 'reject', 'build', 'promote', 'rollback']);
    assert.match(git(remote, 'notes', '--ref=refs/notes/packuilon', 'show', sha), /"type":"rollback"/);
    const text = await runCli(['history', key], { cwd: work, env });
    assert.match(text.stdout, /promote done: .*→/);

    const lacking = await runCli(['ci', 'promote', key, '--image-id', await build('three')], { cwd: work, env: { ...env, ...openrc(info, 'userb') } });
    assert.equal(lacking.code, 2);
    assert.match(lacking.stderr, /not found in Glance, or not visible to the OS_\* variables, user userb/, 'another project\'s identity cannot even see the candidate');
  } finally {
    dir.remove();
  }
});
