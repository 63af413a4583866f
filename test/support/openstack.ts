// A private, throwaway OpenStack control plane for tests: real Keystone 22
// (under uwsgi, sqlite in WAL mode, 1 process 1 thread) and real Glance 25
// (keystonemiddleware auth, sqlite, file store) on free loopback ports, in a
// temp dir, seeded like the recipe: projects `packuilon` and `tenant-b`, users
// builder (member of packuilon), image-admin (admin in packuilon), userb
// (member of tenant-b). Stopped by PID. Config templates: test/support/openstack/.
//
// One instance per test run: `node --import tsx test/support/openstack.ts CMD ARGS…`
// starts it, runs CMD with PACKUILON_TEST_OPENSTACK (the JSON of `OpenstackInfo`),
// PACKUILON_TEST_OS_AUTH_URL and PACKUILON_TEST_GLANCE_URL, and stops it after.
// Tests call sharedOpenstack(); without the variables it starts a private one.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, mkdir, readFile, rm, writeFile, access } from 'node:fs/promises';
import { rmSync, openSync, closeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, dirname } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { addExitCleanup, removeExitCleanup } from './exit-cleanup.js';

const run = promisify(execFile);
const HERE = join(dirname(fileURLToPath(import.meta.url)), 'openstack');
const ADMIN_PASSWORD = 'adminpw';
export const REGION = 'RegionOne';

export interface OpenstackUser {
  name: string;
  password: string;
  userId: string;
  /** The project the user has its roles in (name and ID). */
  project: string;
  projectId: string;
  roles: string[];
}

/** What a test needs to talk to the instance; plain data (it travels as JSON in PACKUILON_TEST_OPENSTACK). */
export interface OpenstackInfo {
  /** Keystone v3, e.g. http://127.0.0.1:PORT/v3 */
  authUrl: string;
  /** Glance's endpoint as the catalog lists it (no /v2). */
  glanceUrl: string;
  region: string;
  /** Project name → ID: packuilon, tenant-b, admin. */
  projects: Record<string, string>;
  /** builder, image-admin, userb, and Keystone's bootstrap admin. */
  users: Record<'builder' | 'image-admin' | 'userb' | 'admin', OpenstackUser>;
  /** Its temp dir (keystone/, glance/ with logs); removed by stop(). */
  dir: string;
  /** Milliseconds from start to seeded and serving. */
  startMs: number;
}

export interface Openstack extends OpenstackInfo {
  stop(): Promise<void>;
}

/** The OS_* variables of an openrc file for one of the seeded users. */
export function openrc(info: OpenstackInfo, user: keyof OpenstackInfo['users']): Record<string, string> {
  const u = info.users[user];
  return {
    OS_AUTH_URL: info.authUrl,
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: u.name,
    OS_PASSWORD: u.password,
    OS_PROJECT_NAME: u.project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: info.region,
    OS_INTERFACE: 'public',
  };
}


export interface StartOptions {
  /** Run in this directory (made if missing) instead of a new temp dir. */
  dir?: string;
  /**
   * Outlive this process (the local stack, scripts/stack.sh): no exit hook kills the services;
   * stop them by the PIDs in `pids` (also in keystone/uwsgi.pid and glance/glance.pid).
   */
  detached?: boolean;
  /**
   * Glance's token cache [2 s: the expired-token tests need a revoked token refused soon].
   * The local stack and the chain bench use keystonemiddleware's default, 300 s, as a site
   * does: this Keystone takes 1–2 s to validate a token, which a 2 s cache pays again and again.
   */
  tokenCacheSeconds?: number;
}

/** Start Keystone + Glance and seed them; ~15 s. Installs the Debian packages with apt-get if missing. */
export async function startOpenstack(options: StartOptions = {}): Promise<Openstack & { pids: number[] }> {
  const started = Date.now();
  await ensureInstalled();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'packuilon-openstack-')));
  await mkdir(dir, { recursive: true });
  const [keystonePort = 0, glancePort = 0] = await freePorts(2);
  const authUrl = `http://127.0.0.1:${keystonePort}/v3`;
  const glanceUrl = `http://127.0.0.1:${glancePort}`;
  const children: ChildProcess[] = [];
  const pids = { keystone: join(dir, 'keystone', 'uwsgi.pid'), glance: join(dir, 'glance', 'glance.pid') };
  const killAllSync = (): void => {
    for (const child of children) if (child.pid && child.exitCode === null) tryKill(child.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  if (!options.detached) addExitCleanup(killAllSync);
  try {
    // Glance's db_sync runs while Keystone is set up, started and seeded (python start-ups dominate).
    const glanceReady = setUpGlance(dir, glancePort, authUrl, options.tokenCacheSeconds ?? 2);
    glanceReady.catch(() => undefined);
    await setUpKeystone(dir, authUrl);
    children.push(await launch('keystone', dir, 'uwsgi', [
      '--plugin', 'python3', '--http-socket', `127.0.0.1:${keystonePort}`, '--wsgi-file', '/usr/bin/keystone-wsgi-public',
      '--env', `OS_KEYSTONE_CONFIG_FILES=${join(dir, 'keystone', 'keystone.conf')}`,
      '--master', '--processes', '1', '--threads', '1', '--die-on-term', '--need-app', '--add-header', 'Connection: close',
    ], pids.keystone, options.detached));
    await waitFor(`${authUrl}`, children[0]!, join(dir, 'keystone', 'uwsgi.log'));
    const seeded = await seed(authUrl, glanceUrl);
    await glanceReady;
    // glance-api makes a process group of its own; it is stopped by the PID written here, not by a group.
    children.push(await launch('glance', dir, '/usr/bin/python3', ['/usr/bin/glance-api', '--config-file', join(dir, 'glance', 'glance-api.conf')], pids.glance, options.detached));
    await waitFor(`${glanceUrl}/healthcheck`, children[1]!, join(dir, 'glance', 'glance-api.log'));
    const info: OpenstackInfo = { authUrl, glanceUrl, region: REGION, dir, ...seeded, startMs: Date.now() - started };
    return {
      ...info,
      pids: children.map((child) => child.pid ?? 0),
      stop: async () => {
        for (const child of [...children].reverse()) await stopChild(child);
        await rm(dir, { recursive: true, force: true });
        removeExitCleanup(killAllSync);
      },
    };
  } catch (error) {
    killAllSync();
    removeExitCleanup(killAllSync);
    throw error;
  }
}

/**
 * The run's shared instance when PACKUILON_TEST_OPENSTACK is set (by running
 * the tests under this file), else a private one. Tests share it: each uses
 * image names of its own (e.g. with a random suffix) and cleans nothing up.
 */
export async function sharedOpenstack(): Promise<{ info: OpenstackInfo; release(): Promise<void> }> {
  const shared = process.env.PACKUILON_TEST_OPENSTACK;
  if (shared) return { info: JSON.parse(shared) as OpenstackInfo, release: async () => undefined };
  const openstack = await startOpenstack();
  return { info: openstack, release: () => openstack.stop() };
}

async function setUpKeystone(dir: string, authUrl: string): Promise<void> {
  const kdir = join(dir, 'keystone');
  await mkdir(kdir, { recursive: true });
  await writeFile(join(kdir, 'keystone.conf'), (await readFile(join(HERE, 'keystone.conf'), 'utf8')).replaceAll('@DIR@', dir));
  await writeFile(join(kdir, 'policy.yaml'), await readFile(join(HERE, 'policy.yaml')));
  const conf = ['--config-file', join(kdir, 'keystone.conf')];
  const me = userInfo();
  const owner = ['--keystone-user', me.username, '--keystone-group', (await run('id', ['-gn'])).stdout.trim()];
  const manage = (step: string[]) => tool('keystone-manage', [...conf, ...step], kdir);
  // the key repositories do not touch the database: made while it is created
  await Promise.all([manage(['db_sync']), manage(['fernet_setup', ...owner]), manage(['credential_setup', ...owner])]);
  await manage(['bootstrap', '--bootstrap-password', ADMIN_PASSWORD, '--bootstrap-region-id', REGION,
    '--bootstrap-admin-url', `${authUrl}/`, '--bootstrap-internal-url', `${authUrl}/`, '--bootstrap-public-url', `${authUrl}/`]);
  // WAL: without it concurrent writes fail with 'database is locked' after a 5 s wait.
  await tool('python3', ['-c', 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")', join(kdir, 'keystone.sqlite')], kdir);
}

async function setUpGlance(dir: string, port: number, authUrl: string, tokenCacheSeconds: number): Promise<void> {
  const gdir = join(dir, 'glance');
  for (const sub of ['images', 'staging', 'lock']) await mkdir(join(gdir, sub), { recursive: true });
  const fill = (text: string) => text.replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port)).replaceAll('@KEYSTONE_URL@', authUrl).replaceAll('@TOKEN_CACHE@', String(tokenCacheSeconds));
  for (const file of ['glance-api.conf', 'glance-api-paste.ini', 'policy.yaml']) {
    await writeFile(join(gdir, file), fill(await readFile(join(HERE, file), 'utf8')));
  }
  await tool('glance-manage', ['--config-file', join(gdir, 'glance-api.conf'), 'db_sync'], gdir);
}

/** The recipe's keystone-seed.sh, over fetch. */
async function seed(authUrl: string, glanceUrl: string): Promise<Pick<OpenstackInfo, 'projects' | 'users'>> {
  const auth = await fetch(`${authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    } }),
  });
  if (auth.status !== 201) throw new Error(`keystone seed: admin token: HTTP ${auth.status}: ${await auth.text()}`);
  const token = auth.headers.get('x-subject-token') ?? '';
  const adminBody = (await auth.json()) as { token: { user: { id: string }; project: { id: string } } };
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, { id: string }[] | { id: string }>> => {
    const response = await fetch(`${authUrl}/${path}`, {
      method,
      headers: { 'x-auth-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`keystone seed: ${method} ${path}: HTTP ${response.status}: ${await response.text()}`);
    return response.status === 204 ? {} : ((await response.json()) as Record<string, { id: string }>);
  };
  const post = async (kind: string, body: Record<string, unknown>): Promise<string> =>
    ((await call('POST', `${kind}s`, { [kind]: body }))[kind] as { id: string }).id;
  const role = async (name: string): Promise<string> => ((await call('GET', `roles?name=${name}`)).roles as { id: string }[])[0]!.id;
  const roles = { admin: await role('admin'), member: await role('member'), reader: await role('reader') };
  const grant = (project: string, user: string, r: keyof typeof roles) => call('PUT', `projects/${project}/users/${user}/roles/${roles[r]}`);

  const service = await post('project', { name: 'service', domain_id: 'default' });
  const glanceUser = await post('user', { name: 'glance', domain_id: 'default', password: 'glancepw' });
  await grant(service, glanceUser, 'admin');
  const image = await post('service', { name: 'glance', type: 'image' });
  for (const iface of ['public', 'internal', 'admin']) await post('endpoint', { service_id: image, interface: iface, region_id: REGION, url: glanceUrl });
  // the admin may also take a domain-scoped token (the domain-scope tests)
  await call('PUT', `domains/default/users/${adminBody.token.user.id}/roles/${roles.admin}`);

  const user = async (name: string, password: string, project: string, projectId: string, granted: (keyof typeof roles)[]): Promise<OpenstackUser> => {
    const userId = await post('user', { name, domain_id: 'default', password });
    for (const r of granted) await grant(projectId, userId, r);
    return { name, password, userId, project, projectId, roles: granted };
  };
  const packuilon = await post('project', { name: 'packuilon', domain_id: 'default' });
  const tenantB = await post('project', { name: 'tenant-b', domain_id: 'default' });
  return {
    projects: { packuilon, 'tenant-b': tenantB, admin: adminBody.token.project.id },
    users: {
      builder: await user('builder', 'builderpw', 'packuilon', packuilon, ['member', 'reader']),
      // the promote identity: admin in the project that owns the images
      'image-admin': await user('image-admin', 'imageadminpw', 'packuilon', packuilon, ['admin', 'member']),
      userb: await user('userb', 'userbpw', 'tenant-b', tenantB, ['member', 'reader']),
      admin: { name: 'admin', password: ADMIN_PASSWORD, userId: adminBody.token.user.id, project: 'admin', projectId: adminBody.token.project.id, roles: ['admin'] },
    },
  };
}

async function launch(name: string, dir: string, command: string, args: string[], pidFile: string, detached = false): Promise<ChildProcess> {
  const log = join(dir, name, name === 'keystone' ? 'uwsgi.log' : 'stdout.log');
  const out = openSync(log, 'a');
  const child = spawn(command, args, { cwd: join(dir, name), stdio: ['ignore', out, out], detached });
  closeSync(out);
  child.unref();
  await writeFile(pidFile, `${child.pid}\n`);
  return child;
}

async function waitFor(url: string, child: ChildProcess, log: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.spawnfile} exited (${child.exitCode ?? child.signalCode}) before ${url} answered:\n${await tail(log)}`);
    }
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer in 60 s:\n${await tail(log)}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  try {
    const exited = once(child, 'exit');
    tryKill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && tryKill(child.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  } finally {
    child.unref();
  }
}

async function tool(command: string, args: string[], cwd: string): Promise<void> {
  try {
    await run(command, args, { cwd });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.filter((a) => !a.includes('/')).join(' ')}: ${(e.stderr || e.message).trim().split('\n').slice(-5).join(' | ')}`);
  }
}

async function tail(file: string): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
}

async function ensureInstalled(): Promise<void> {
  const have = async (path: string) => access(path).then(() => true, () => false);
  const ok = (await Promise.all(['/usr/bin/keystone-wsgi-public', '/usr/bin/glance-api', '/usr/bin/uwsgi', '/usr/lib/uwsgi/plugins/python3_plugin.so'].map(have))).every(Boolean);
  if (ok) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-q', 'keystone', 'glance-api', 'uwsgi', 'uwsgi-plugin-python3'], { env });
  try {
    await install();
  } catch {
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-q'], { env });
    await install();
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push(server);
    }
    return servers.map((s) => {
      const address = s.address();
      return typeof address === 'object' && address ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}


function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

// `node --import tsx test/support/openstack.ts CMD ARGS…`: one Keystone + Glance for a whole run.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    process.stderr.write('usage: node --import tsx test/support/openstack.ts CMD [ARGS…]\n');
    process.exit(2);
  }
  const openstack = await startOpenstack();
  const { stop: _stop, ...info } = openstack;
  process.stderr.write(`openstack: keystone ${info.authUrl}, glance ${info.glanceUrl}, up in ${info.startMs} ms\n`);
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: {
      ...process.env,
      PACKUILON_TEST_OPENSTACK: JSON.stringify(info),
      PACKUILON_TEST_OS_AUTH_URL: info.authUrl,
      PACKUILON_TEST_GLANCE_URL: info.glanceUrl,
    },
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  await openstack.stop();
  process.exit(code ?? (signal ? 128 : 1));
}
