import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { silentLogger } from '../shared/log.js';
import { sharedOpenstack, openrc, type OpenstackInfo } from '../../test/support/openstack.js';
import { createGlance, createSession, resolveCredentials, PermissionError, type Image, type ImageStore } from '../openstack/index.js';
import { promote, reject, rollback, prune, type LifecycleFlowOptions } from './promote.js';

const { info, release } = await sharedOpenstack();
test.after(() => release());

const log = silentLogger();
const glanceAs = (user: keyof OpenstackInfo['users']): ImageStore =>
  createGlance(createSession({ credentials: resolveCredentials({ env: openrc(info, user), cwd: '/nonexistent' }), log }));
const admin = glanceAs('image-admin');
const B = info.projects['tenant-b']!;
const ADMIN_PROJECT = info.projects.admin!;

let counter = 0;
const uniqueName = (label: string) => `${label}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;

async function image(name: string, fields: Record<string, unknown> = {}, members: string[] = [], store = admin): Promise<Image> {
  const made = await store.create({ name, disk_format: 'raw', container_format: 'bare', ...fields });
  await store.upload(made.id, Buffer.from(`data of ${name}`));
  for (const member of members) {
    await store.addMember(made.id, member);
    await store.setMemberStatus(made.id, member, 'accepted');
  }
  return store.get(made.id);
}

async function flow(key: string, ids: string[], extra: Partial<LifecycleFlowOptions> & { user?: keyof OpenstackInfo['users']; promote?: Record<string, unknown> } = {}): Promise<LifecycleFlowOptions> {
  const repo = await mkdtemp(join(tmpdir(), 'packuilon-promote-'));
  await mkdir(join(repo, 'images', key), { recursive: true });
  await writeFile(join(repo, 'images', key, 'image.json'), JSON.stringify({ image_key: key, profiles: { 'b.example.org': 'sha256:bb', 'a.example.org': 'sha256:aa' } }));
  await writeFile(join(repo, 'packuilon.yaml'), JSON.stringify({ promote: extra.promote ?? {} }));
  const env = { ...openrc(info, extra.user ?? 'image-admin'), CI_COMMIT_SHA: 'c0ffee'.padEnd(40, '0'), CI_PIPELINE_URL: 'https://gitlab.example.org/cloud/images/-/pipelines/7', CI_PROJECT_URL: 'https://gitlab.example.org/cloud/images' };
  const loaded = loadConfig({ env: {}, cwd: repo });
  return { loaded, env, cwd: repo, log, key, imageIds: ids, ...extra };
}

const membersOf = async (id: string) => (await admin.members(id)).map((m) => `${m.member_id}:${m.status}`).sort();

test('first image ever: the Next- candidate takes its name and the provenance; a second run changes nothing', { timeout: 900_000 }, async () => {
  const name = uniqueName('first');
  const candidate = await image(`Next-${name}`);
  const options = await flow('web-sl7x-x86_64', [candidate.id]);
  const report = await promote(options);
  assert.equal(report.status, 'done');
  const after = await admin.get(candidate.id);
  assert.equal(after.name, name);
  assert.equal(after.visibility, 'shared');
  assert.equal(after.packuilon_commit, 'c0ffee'.padEnd(40, '0'));
  assert.equal(after.packuilon_image_key, 'web-sl7x-x86_64');
  assert.equal(after.packuilon_profile, 'a.example.org,b.example.org');
  assert.equal(after.packuilon_profile_digest, 'sha256:aa,sha256:bb');
  assert.equal(after.packuilon_pipeline_url, 'https://gitlab.example.org/cloud/images/-/pipelines/7');
  assert.equal(after.image_source, `https://gitlab.example.org/cloud/images/-/commit/${'c0ffee'.padEnd(40, '0')}`);
  const written = JSON.parse(await readFile(join(options.cwd, 'out', 'web-sl7x-x86_64', 'promote.json'), 'utf8')) as { changes: { field: string; before: unknown; after: unknown }[] };
  assert.deepEqual(written.changes.find((c) => c.field === 'name'), { image: candidate.id, name: `Next-${name}`, field: 'name', before: `Next-${name}`, after: name });
  const found = await admin.list({ packuilon_commit: 'c0ffee'.padEnd(40, '0') });
  assert.ok(found.some((i) => i.id === candidate.id), 'found by its commit, as `openstack image list --property` does');
  const again = await promote(options);
  assert.equal(again.status, 'nothing-to-do');
  assert.deepEqual(again.changes, []);
});

test('a shared image with members on two older images: both warehoused and deactivated, members merged and accepted, properties moved', { timeout: 900_000 }, async () => {
  const name = uniqueName('shared');
  const older1 = await image(name, { AQ_OS: 'sl', os_distro: 'scientific', site_extra: 'x' }, [B]);
  // Glance's created_at has whole seconds: two images of one second have no order, and rollback below
  // must know which of the two, warehoused in one run, is the newest.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const older2 = await image(name, { AQ_OS: 'sl', AQ_OSVERSION: '7x' }, [ADMIN_PROJECT]);
  const candidate = await image(`Next-${name}`, { AQ_OS: 'sl-new' });
  const report = await promote(await flow('shared-sl7x-x86_64', [candidate.id], { promote: { copy_properties: ['site_extra'] } }));
  assert.equal(report.status, 'done');
  const after = await admin.get(candidate.id);
  assert.equal(after.name, name);
  assert.equal(after.AQ_OS, 'sl-new', "the new image's own value stays");
  assert.equal(after.AQ_OSVERSION, '7x');
  assert.equal(after.os_distro, 'scientific');
  assert.equal(after.site_extra, 'x', 'promote.copy_properties');
  assert.deepEqual(await membersOf(candidate.id), [`${ADMIN_PROJECT}:accepted`, `${B}:accepted`].sort());
  for (const old of [older1, older2]) {
    const o = await admin.get(old.id);
    assert.match(o.name ?? '', new RegExp(`^warehoused-${name}-\\d{2}-\\d{2}-\\d{4}-\\d{2}-\\d{2}-\\d{2}$`));
    assert.equal(o.status, 'deactivated');
    assert.equal(o.packuilon_superseded_by, candidate.id);
    assert.ok(typeof o.packuilon_warehoused_at === 'string');
  }
  assert.deepEqual(await membersOf(older1.id), [`${B}:accepted`], 'members kept on the warehoused image');
  // tenant-b sees the new image
  assert.ok((await glanceAs('userb').list({ visibility: 'shared' })).some((i) => i.id === candidate.id));

  // rollback: the newest warehoused becomes current again; the promoted one is warehoused
  const rolled = await rollback(await flow('shared-sl7x-x86_64', []));
  assert.equal(rolled.status, 'done');
  assert.deepEqual(rolled.nothing_to_roll_back, []);
  const back = await admin.get(older2.id);
  assert.equal(back.name, name);
  assert.equal(back.status, 'active');
  assert.equal(back.packuilon_superseded_by, undefined);
  assert.deepEqual(await membersOf(older2.id), [`${ADMIN_PROJECT}:accepted`]);
  const retired = await admin.get(candidate.id);
  assert.match(retired.name ?? '', /^warehoused-/);
  assert.equal(retired.status, 'deactivated');
  assert.equal(retired.packuilon_superseded_by, older2.id);
});

test('a public image: the new one is public; the promote identity without admin is refused before any change, naming the step and the role', { timeout: 900_000 }, async () => {
  const name = uniqueName('public');
  const older = await image(name, { visibility: 'public' });
  const candidate = await image(`Next-${name}`, {}, [], glanceAs('builder'));
  await assert.rejects(promote(await flow('pub-sl7x-x86_64', [candidate.id], { user: 'builder' })), (e: Error) => {
    assert.ok(e instanceof PermissionError);
    assert.match(e.message, /^give image .* the visibility and properties of .*: permission denied for the OS_\* variables, user builder: making an image public needs the admin role in project .*; it has (member|reader), (member|reader); nothing was changed$/);
    return true;
  });
  assert.equal((await admin.get(candidate.id)).name, `Next-${name}`, 'untouched');
  assert.equal((await admin.get(older.id)).name, name, 'untouched');
  await promote(await flow('pub-sl7x-x86_64', [candidate.id]));
  assert.equal((await admin.get(candidate.id)).visibility, 'public');
  assert.equal((await admin.get(candidate.id)).name, name);
});

test('a promote killed between steps converges on rerun, the same as an uninterrupted one; the token revoked mid-run is re-issued', { timeout: 900_000 }, async () => {
  const name = uniqueName('killed');
  const older = await image(name, { AQ_PERSONALITY: 'web' }, [B]);
  const candidate = await image(`Next-${name}`);
  let token = '';
  const recording: typeof fetch = (input, init) => {
    const t = (init?.headers as Record<string, string> | undefined)?.['x-auth-token'];
    if (t) token = t;
    return fetch(input, init);
  };
  const killed = await flow('kill-sl7x-x86_64', [candidate.id], {
    fetch: recording,
    afterStep: (_step, index) => {
      if (index === 2) throw new Error('killed');
    },
  });
  await assert.rejects(promote(killed), /killed/);
  // half-way: the old image is still named as before or warehoused, the new one not yet renamed
  assert.equal((await admin.get(candidate.id)).name, `Next-${name}`);

  // the rerun's token is revoked after its first step: Glance refuses it, the session re-authenticates once
  const resumed = await flow('kill-sl7x-x86_64', [candidate.id], {
    fetch: recording,
    afterStep: async (_step, index) => {
      if (index !== 0) return;
      const revoked = await fetch(`${info.authUrl}/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': token, 'x-subject-token': token } });
      assert.equal(revoked.status, 204);
      await new Promise((r) => setTimeout(r, 2500)); // Glance's 2 s token cache
    },
  });
  const report = await promote(resumed);
  assert.equal(report.status, 'done');
  const after = await admin.get(candidate.id);
  assert.equal(after.name, name);
  assert.equal(after.AQ_PERSONALITY, 'web');
  assert.deepEqual(await membersOf(candidate.id), [`${B}:accepted`]);
  const old = await admin.get(older.id);
  assert.match(old.name ?? '', /^warehoused-/);
  assert.equal(old.status, 'deactivated');
  assert.equal((await promote(await flow('kill-sl7x-x86_64', [candidate.id]))).status, 'nothing-to-do');
});

test('reject: broken-<name>-<date>, private, no members; the current image untouched; a name with spaces and quotes', { timeout: 900_000 }, async () => {
  const name = uniqueName(`my "quoted" image's name`);
  const current = await image(name, {}, [B]);
  const candidate = await image(`Next-${name}`, {}, [B]);
  const report = await reject(await flow('rej-sl7x-x86_64', [candidate.id]));
  assert.equal(report.status, 'done');
  const after = await admin.get(candidate.id);
  assert.match(after.name ?? '', /^broken-my "quoted" image's name-.*-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}-\d{2}$/);
  assert.equal(after.visibility, 'private');
  assert.ok(report.changes.some((c) => c.field === `member ${B}` && c.after === null), 'its member removed');
  assert.ok(!(await glanceAs('userb').list({ visibility: 'shared' })).some((i) => i.id === candidate.id), 'tenant-b no longer sees it');
  const untouched = await admin.get(current.id);
  assert.equal(untouched.name, name);
  assert.equal(untouched.status, 'active');
  assert.equal((await reject(await flow('rej-sl7x-x86_64', [candidate.id]))).status, 'nothing-to-do');

  // the same hostile name promoted: found by exact name, warehoused, replaced
  const next = await image(`Next-${name}`);
  await promote(await flow('rej-sl7x-x86_64', [next.id]));
  assert.equal((await admin.get(next.id)).name, name);
  assert.match((await admin.get(current.id)).name ?? '', /^warehoused-my "quoted" image's name-/);
});

test('rollback with nothing to roll back names the image; retention removes only our warehoused images beyond keep', { timeout: 900_000 }, async () => {
  const name = uniqueName('keep');
  const first = await image(`Next-${name}`);
  const options = (ids: string[], promoteConfig: Record<string, unknown> = {}) => flow('ret-sl7x-x86_64', ids, { promote: promoteConfig });
  await promote(await options([first.id]));
  const nothing = await rollback(await options([]));
  assert.deepEqual(nothing.nothing_to_roll_back, [name]);

  const promoted = [first];
  for (let i = 0; i < 3; i++) {
    const next = await image(`Next-${name}`);
    await promote(await options([next.id]));
    promoted.push(next);
  }
  // beside ours: the seed's warehoused image (no stamps), and one in another project with our stamps copied
  const seeds = await image(`warehoused-${name}-01-01-2020-00-00-00`);
  const foreign = await image(`warehoused-${name}-01-01-2020-00-00-00`, { packuilon_warehoused_at: '2020-01-01T00:00:00.000Z', packuilon_superseded_by: first.id }, [], glanceAs('userb'));
  const dry = await prune({ ...(await options([], { keep: 1, prune: 'delete' })), apply: false });
  assert.equal(dry.status, 'dry-run');
  assert.deepEqual(dry.planned?.map((c) => c.image).sort(), [promoted[0]!.id, promoted[1]!.id].sort(), 'the two oldest of our three warehoused');
  assert.ok(dry.skipped?.some((s) => s.image === seeds.id && /no stamps/.test(s.reason)));
  assert.equal((await admin.get(promoted[0]!.id)).status, 'deactivated', 'a dry run changes nothing');
  const applied = await prune({ ...(await options([], { keep: 1, prune: 'delete' })), apply: true });
  assert.equal(applied.changes.length, 2);
  assert.equal(await admin.find(promoted[0]!.id), null);
  assert.equal(await admin.find(promoted[1]!.id), null);
  assert.ok(await admin.find(promoted[2]!.id), 'kept');
  assert.ok(await admin.find(seeds.id), 'the seed\'s image is not ours');
  assert.ok(await glanceAs('userb').find(foreign.id), 'another project\'s image is never touched');
});

test('bad input: no build record, a malformed one, an ID that is not one', { timeout: 900_000 }, async () => {
  const options = await flow('bad-sl7x-x86_64', []);
  delete options.imageIds;
  await assert.rejects(promote(options), /build\.json: no build record/);
  await mkdir(join(options.cwd, 'out', 'bad-sl7x-x86_64'), { recursive: true });
  await writeFile(join(options.cwd, 'out', 'bad-sl7x-x86_64', 'build.json'), '{"key":"bad-sl7x-x86_64","commit":null,"builds":[{"image_id":"../../etc"}]}');
  await assert.rejects(promote(options), /image_id "\.\.\/\.\.\/etc" is not a Glance image ID/);
  await writeFile(join(options.cwd, 'out', 'bad-sl7x-x86_64', 'build.json'), '{"key":"other","commit":null,"builds":[]}');
  await assert.rejects(promote(options), /key: expected bad-sl7x-x86_64, received other/);
  await assert.rejects(promote({ ...options, imageIds: ['$(rm -rf /)'] }), /--image-id: .* is not a Glance image ID/);
});

test('promote.chain_source: the source-image map names the new image, in one [skip ci] commit; a rerun commits nothing', { timeout: 900_000 }, async () => {
  const { git, gitEnv, tempDir, repoWithRemote } = await import('../../test/support/git-repos.js');
  const dir = tempDir();
  try {
    const { remote, work } = repoWithRemote(dir.path);
    const name = uniqueName('chain');
    const older = await image(name);
    const candidate = await image(`Next-${name}`);
    await mkdir(join(work, 'images'), { recursive: true });
    const sources = `{\n  "sl7x-x86_64": "${older.id}",\n  "el9x-x86_64": "00000000-0000-0000-0000-000000000000"\n}\n`;
    await writeFile(join(work, 'images', 'source-images.json'), sources);
    await writeFile(join(work, 'packuilon.yaml'), 'repo:\n  remote: origin\npromote:\n  chain_source: [base-sl7x-x86_64]\n');
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'sources');
    git(work, 'push', '--quiet', 'origin', 'main');
    const before = git(remote, 'rev-parse', 'main');
    const env = { ...gitEnv, ...openrc(info, 'image-admin') };
    const options: LifecycleFlowOptions = { loaded: loadConfig({ env: {}, cwd: work }), env, cwd: work, log, key: 'base-sl7x-x86_64', imageIds: [candidate.id] };
    await promote(options);
    const tip = git(remote, 'rev-parse', 'main');
    assert.notEqual(tip, before);
    assert.equal(git(remote, 'rev-parse', `${tip}^`), before, 'one commit on the remote tip');
    assert.match(git(remote, 'log', '-1', '--format=%B', tip), /\[skip ci\]/);
    assert.equal(git(remote, 'show', `${tip}:images/source-images.json`), sources.replace(older.id, candidate.id).trimEnd(), 'only the old ID replaced, formatting kept');
    await promote(options);
    assert.equal(git(remote, 'rev-parse', 'main'), tip, 'a rerun commits nothing');
  } finally {
    dir.remove();
  }
});
