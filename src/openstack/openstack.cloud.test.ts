import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { createLogger } from '../shared/log.js';
import { ConfigError } from '../shared/errors.js';
import { sharedOpenstack, openrc, type OpenstackInfo } from '../../test/support/openstack.js';
import { resolveCredentials, createSession, createGlance, AuthError, PermissionError, type Session, type Image } from './index.js';

const { info, release } = await sharedOpenstack();
test.after(() => release());

/** A logger whose lines a test can read back (to prove no secret is in them). */
function capturedLog() {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
  return { log: createLogger({ LOG_LEVEL: 'debug' }, sink), text: () => lines.join('') };
}

const sessionFor = (user: keyof OpenstackInfo['users'], extra: Record<string, string> = {}, now?: () => number): Session => {
  const env = { ...openrc(info, user), ...extra };
  return createSession({ credentials: resolveCredentials({ env, cwd: '/nonexistent' }), log: capturedLog().log, ...(now ? { now } : {}) });
};
const unique = (label: string) => `test-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

test('password auth with project scope: the token, the roles and Glance from the catalog', { timeout: 900_000 }, async () => {
  const session = sessionFor('builder');
  const identity = await session.identity();
  assert.equal(identity.userName, 'builder');
  assert.equal(identity.projectId, info.projects.packuilon);
  assert.ok(identity.roles.includes('member'));
  assert.equal(await session.endpoint('image'), info.glanceUrl);
  await assert.rejects(session.endpoint('compute'), (e: Error) => e instanceof ConfigError && /no compute service/.test(e.message));
  const wrongRegion = sessionFor('builder', { OS_REGION_NAME: 'Elsewhere' });
  await assert.rejects(wrongRegion.endpoint('image'), /no public image endpoint in region Elsewhere .*public@RegionOne/);
  assert.equal(await sessionFor('builder', { OS_INTERFACE: 'internal' }).endpoint('image'), info.glanceUrl);
});

test('domain scope, and application credentials (by id, and by name + user)', { timeout: 900_000 }, async () => {
  const env = openrc(info, 'admin');
  const domainScoped = createSession({
    credentials: resolveCredentials({ env: { ...env, OS_PROJECT_NAME: '', OS_PROJECT_DOMAIN_NAME: '', OS_DOMAIN_NAME: 'Default' }, cwd: '/nonexistent' }),
    log: capturedLog().log,
  });
  const identity = await domainScoped.identity();
  assert.equal(identity.projectId, undefined, 'a domain token has no project');
  assert.ok(identity.roles.includes('admin'));

  // builder makes an application credential for itself (Keystone's own API)
  const builder = sessionFor('builder');
  const made = await fetch(`${info.authUrl}/users/${info.users.builder.userId}/application_credentials`, {
    method: 'POST',
    headers: { 'x-auth-token': await builder.token(), 'content-type': 'application/json' },
    body: JSON.stringify({ application_credential: { name: unique('appcred') } }),
  });
  assert.equal(made.status, 201);
  const cred = ((await made.json()) as { application_credential: { id: string; name: string; secret: string } }).application_credential;
  const byId = createSession({
    credentials: resolveCredentials({ env: { OS_AUTH_URL: info.authUrl, OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: cred.id, OS_APPLICATION_CREDENTIAL_SECRET: cred.secret }, cwd: '/nonexistent' }),
    log: capturedLog().log,
  });
  assert.equal((await byId.identity()).projectId, info.projects.packuilon, 'the credential carries its project');
  assert.equal(byId.credentials.who, `application credential ${cred.id}`);
  const byName = createSession({
    credentials: resolveCredentials({ env: { OS_AUTH_URL: info.authUrl, OS_APPLICATION_CREDENTIAL_NAME: cred.name, OS_USERNAME: 'builder', OS_USER_DOMAIN_NAME: 'Default', OS_APPLICATION_CREDENTIAL_SECRET: cred.secret }, cwd: '/nonexistent' }),
    log: capturedLog().log,
  });
  assert.equal((await byName.identity()).userName, 'builder');
  const wrong = createSession({
    credentials: resolveCredentials({ env: { OS_AUTH_URL: info.authUrl, OS_APPLICATION_CREDENTIAL_ID: cred.id, OS_APPLICATION_CREDENTIAL_SECRET: 'not-the-secret' }, cwd: '/nonexistent' }),
    log: capturedLog().log,
  });
  await assert.rejects(wrong.identity(), (e: Error) => e instanceof AuthError && e.message.includes(cred.id) && !e.message.includes('not-the-secret'));
});

test('refused credentials: a 401 names the cloud and the user, never the password, in the error or the log', { timeout: 900_000 }, async () => {
  const captured = capturedLog();
  const dir = await mkdtemp(join(tmpdir(), 'packuilon-clouds-'));
  await writeFile(join(dir, 'clouds.yaml'), `clouds:\n  site:\n    auth:\n      auth_url: ${info.authUrl}\n      username: builder\n      project_name: packuilon\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n`);
  await writeFile(join(dir, 'secure.yaml'), 'clouds:\n  site:\n    auth:\n      password: "s3cret-wrong-pw"\n');
  const session = createSession({ credentials: resolveCredentials({ env: { OS_CLOUD: 'site' }, cwd: dir }), log: captured.log });
  await assert.rejects(session.identity(), (e: Error) => {
    assert.ok(e instanceof AuthError);
    assert.match(e.message, /refused the credentials of cloud site \(.*clouds\.yaml \+ .*secure\.yaml\), user builder \(HTTP 401\)/);
    assert.doesNotMatch(e.message, /s3cret/);
    return true;
  });
  assert.doesNotMatch(captured.text(), /s3cret/);
  // the right password in secure.yaml: the same cloud works
  await writeFile(join(dir, 'secure.yaml'), 'clouds:\n  site:\n    auth:\n      password: builderpw\n');
  const ok = createSession({ credentials: resolveCredentials({ env: { OS_CLOUD: 'site' }, cwd: dir }), log: captured.log });
  assert.equal((await ok.identity()).userName, 'builder');
  assert.doesNotMatch(captured.text(), /builderpw/);
  assert.doesNotMatch(captured.text(), new RegExp(await ok.token()), 'the token is never logged');
});

test('credentials: which source wins, and bad or hostile clouds.yaml files say where', { timeout: 900_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'packuilon-clouds-'));
  const confDir = join(dir, 'xdg', 'openstack');
  await mkdir(confDir, { recursive: true });
  await writeFile(join(confDir, 'clouds.yaml'), 'clouds:\n  a:\n    auth_type: password\n    auth: { auth_url: "http://k.example:5000", username: u, password: p, project_id: P1 }\n    interface: internal\n');
  const env = { XDG_CONFIG_HOME: join(dir, 'xdg'), OS_AUTH_URL: 'http://env.example/v3', OS_USERNAME: 'envuser', OS_PASSWORD: 'x', OS_PROJECT_NAME: 'p' };
  const fromCloud = resolveCredentials({ env, cwd: dir, cloud: 'a' });
  assert.equal(fromCloud.authUrl, 'http://k.example:5000/v3', 'openstack.cloud found: clouds.yaml, /v3 appended');
  assert.equal(fromCloud.interface, 'internal');
  assert.deepEqual(fromCloud.scope, { project: { id: 'P1' } });
  const fallback = resolveCredentials({ env, cwd: dir, cloud: 'packuilon' });
  assert.equal(fallback.source, 'the OS_* variables', 'a configured cloud that is in no file: the OS_* variables');
  assert.throws(() => resolveCredentials({ env: { ...env, OS_CLOUD: 'missing' }, cwd: dir }), /"missing" \(OS_CLOUD\) is in no clouds\.yaml/);
  assert.throws(() => resolveCredentials({ env: {}, cwd: dir }), /no OpenStack credentials/);
  assert.throws(() => resolveCredentials({ env: { OS_AUTH_URL: 'http://x/v3', OS_USERNAME: 'u' }, cwd: dir }), /OS_PASSWORD: missing/);
  assert.throws(() => resolveCredentials({ env: { OS_AUTH_URL: 'file:///etc/passwd', OS_USERNAME: 'u', OS_PASSWORD: 'p' }, cwd: dir }), /expected an http\(s\) URL/);
  await writeFile(join(dir, 'clouds.yaml'), 'clouds: [: not yaml');
  assert.throws(() => resolveCredentials({ env: { OS_CLOUD: 'b' }, cwd: dir }), (e: Error) => e instanceof ConfigError && e.message.includes(join(dir, 'clouds.yaml')) && /not valid YAML/.test(e.message));
  await writeFile(join(dir, 'clouds.yaml'), 'clouds:\n  b: "a string"\n');
  assert.throws(() => resolveCredentials({ env: { OS_CLOUD: 'b' }, cwd: dir }), /clouds\.b: expected a mapping/);
  await writeFile(join(dir, 'clouds.yaml'), 'clouds:\n  b:\n    auth_type: token\n    auth: { auth_url: "http://x" }\n');
  assert.throws(() => resolveCredentials({ env: { OS_CLOUD: 'b' }, cwd: dir }), /clouds\.b: auth_type/);
});

test('Glance: create, streamed upload, paginated list, JSON patch, deactivate/reactivate, members across projects, delete', { timeout: 900_000 }, async () => {
  const session = sessionFor('image-admin');
  const glance = createGlance(session, { pageSize: 2 });
  const tag = unique('glance');
  const made: Image[] = [];
  for (let i = 0; i < 5; i++) made.push(await glance.create({ name: `${tag}-${i}`, disk_format: 'raw', container_format: 'bare', AQ_OS: 'sl' }));
  assert.equal(made[0]!.visibility, 'shared', "Glance's default");
  await glance.upload(made[0]!.id, Readable.from([Buffer.from('chunk one '), Buffer.from('chunk two')]));
  assert.equal((await glance.get(made[0]!.id)).status, 'active');
  const listed = await glance.list({ owner: info.projects.packuilon! });
  assert.deepEqual(made.map((m) => m.id).filter((id) => listed.some((l) => l.id === id)).length, 5, 'every page followed');
  const patched = await glance.patch(made[0]!.id, [{ op: 'replace', path: '/name', value: `${tag} "quoted" name` }, { op: 'add', path: '/packuilon_commit', value: 'abc' }]);
  assert.equal(patched.name, `${tag} "quoted" name`);
  assert.equal(patched.packuilon_commit, 'abc');
  await glance.deactivate(made[0]!.id);
  assert.equal((await glance.get(made[0]!.id)).status, 'deactivated');
  await glance.reactivate(made[0]!.id);
  assert.equal((await glance.get(made[0]!.id)).status, 'active');
  await glance.addMember(made[0]!.id, info.projects['tenant-b']!);
  assert.equal((await glance.setMemberStatus(made[0]!.id, info.projects['tenant-b']!, 'accepted')).status, 'accepted', 'the admin identity may accept for the member');
  const seenByB = await createGlance(sessionFor('userb')).list({ visibility: 'shared' });
  assert.ok(seenByB.some((i) => i.id === made[0]!.id), 'tenant-b sees the shared image');
  assert.equal((await glance.members(made[0]!.id)).length, 1);
  await glance.removeMember(made[0]!.id, info.projects['tenant-b']!);
  assert.equal((await glance.members(made[0]!.id)).length, 0);
  for (const image of made) await glance.remove(image.id);
  assert.equal(await glance.find(made[0]!.id), null);
});

test('Glance 403s name the step and the identity; a revoked token is re-issued once; an expiring one before use', { timeout: 900_000 }, async () => {
  const builder = createGlance(sessionFor('builder'));
  await assert.rejects(builder.create({ name: unique('public'), visibility: 'public' }), (e: Error) => {
    assert.ok(e instanceof PermissionError);
    assert.match(e.message, /^create image test-public-.*: permission denied for the OS_\* variables, user builder: POST \/v2\/images: HTTP 403/);
    return true;
  });
  const image = await builder.create({ name: unique('member'), disk_format: 'raw', container_format: 'bare' });
  await builder.addMember(image.id, info.projects['tenant-b']!);
  await assert.rejects(builder.setMemberStatus(image.id, info.projects['tenant-b']!, 'accepted'), (e: Error) => e instanceof PermissionError && /^set member .* accepted/.test(e.message));

  // revoke the session's token in Keystone: the next call gets a 401, re-authenticates once, succeeds
  const session = sessionFor('builder');
  const glance = createGlance(session);
  const first = await session.token();
  await glance.get(image.id);
  const revoked = await fetch(`${info.authUrl}/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': first, 'x-subject-token': first } });
  assert.equal(revoked.status, 204);
  await new Promise((r) => setTimeout(r, 2500)); // Glance's token cache (token_cache_time = 2)
  assert.equal((await glance.get(image.id)).id, image.id);
  assert.notEqual(await session.token(), first, 'a new token');

  // a clock past the token's expiry: re-issued before the request
  let clock = Date.now();
  const timed = sessionFor('builder', {}, () => clock);
  const t1 = await timed.token();
  clock += 86_400_000;
  await new Promise((r) => setTimeout(r, 1100)); // fernet tokens have a 1 s resolution
  assert.notEqual(await timed.token(), t1);
  await builder.remove(image.id);
});
