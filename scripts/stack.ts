// The local stack behind scripts/stack.sh: RabbitMQ, Keystone + Glance, the example Aquilon
// site server and an image repo with a bare remote, started detached under a state dir,
// their PIDs and connection data in stack.json there. `demo` runs the chain of
// test/e2e/chain.cloud.test.ts against it, stage by stage.
//   node --import tsx scripts/stack.ts up|demo|down|status
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { startRabbit } from '../test/support/rabbit.js';
import { startOpenstack, type OpenstackInfo } from '../test/support/openstack.js';
import { startAquilonServer } from '../test/support/aquilon-server.js';
import { CHAIN_KEY, chainHistory, glanceAs, openChain, runChain, seedPreviousImage, setUpChain, type ChainData } from '../test/support/chain.js';
import { isAlive, waitFor } from '../test/support/processes.js';

export interface StackState {
  rabbit: { url: string; pids: number[]; epmdPort: number; dir: string };
  openstack: { info: OpenstackInfo; pids: number[] };
  aquilon: { url: string; pid: number };
  chain: ChainData;
  cloudsYaml: string;
}

export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PACKUILON_STACK_DIR || join(homedir(), '.local', 'state', 'packuilon-stack');
}

export function readState(dir: string): StackState | undefined {
  const file = join(dir, 'stack.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StackState) : undefined;
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function up(dir: string): Promise<void> {
  const existing = readState(dir);
  if (existing && allPids(existing).every(isAlive)) {
    say(`stack: already up in ${dir}`);
    return printState(existing);
  }
  if (existing) throw new Error(`stack: ${dir} holds a stack that is partly down: run scripts/stack.sh down first`);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const settled = await Promise.allSettled([
    startRabbit({ dir: join(dir, 'rabbit'), detached: true }),
    startOpenstack({ dir: join(dir, 'openstack'), detached: true, tokenCacheSeconds: 300 }),
    startAquilonProcess(dir),
  ] as const);
  const [r, o, a] = settled;
  const undo = async (): Promise<void> => {
    if (r.status === 'fulfilled') await r.value.stop();
    if (o.status === 'fulfilled') await o.value.stop();
    if (a.status === 'fulfilled') tryKill(a.value.pid, 'SIGTERM');
  };
  if (r.status === 'rejected' || o.status === 'rejected' || a.status === 'rejected') {
    await undo();
    const failed = settled.find((each) => each.status === 'rejected') as PromiseRejectedResult;
    throw new Error(`stack: could not start: ${(failed.reason as Error).message}`);
  }
  const [rabbit, openstack, aquilon] = [r.value, o.value, a.value];
  const vmPid = Number.parseInt(readFileSync(rabbit.pidFile, 'utf8'), 10);
  const { stop: _stop, pids, ...info } = openstack;
  const services = { amqpUrl: rabbit.url, openstack: info };
  const chain = await setUpChain(join(dir, 'chain'), services, { indexUrl: `${aquilon.url}/profiles/profiles-info.xml`, queue: 'build-queue' }).catch(async (error: unknown) => {
    await undo();
    throw error;
  });
  const cloudsYaml = join(dir, 'clouds.yaml');
  writeFileSync(cloudsYaml, stringify({ clouds: { 'packuilon-local': cloud(info) } }), { mode: 0o600 });
  const state: StackState = {
    rabbit: { url: rabbit.url, pids: [vmPid, rabbit.launcherPid() ?? 0].filter(Boolean), epmdPort: rabbit.epmdPort, dir: rabbit.dir },
    openstack: { info, pids },
    aquilon,
    chain: { root: chain.root, repo: chain.repo, remote: chain.remote, profiles: chain.profiles, indexUrl: chain.indexUrl, queue: chain.queue, imageName: chain.imageName },
    cloudsYaml,
  };
  writeFileSync(join(dir, 'stack.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  say(`stack: up in ${((Date.now() - started) / 1000).toFixed(1)} s, state in ${dir}`);
  printState(state);
}

function cloud(info: OpenstackInfo): Record<string, unknown> {
  const u = info.users['image-admin'];
  return {
    auth: { auth_url: info.authUrl, username: u.name, password: u.password, project_name: u.project, user_domain_name: 'Default', project_domain_name: 'Default' },
    region_name: info.region,
    interface: 'public',
    identity_api_version: 3,
  };
}

/** The Aquilon stand-in as a process of its own (this file's `serve-aquilon`), so it outlives `up`. */
async function startAquilonProcess(dir: string): Promise<{ url: string; pid: number }> {
  const urlFile = join(dir, 'aquilon.url');
  rmSync(urlFile, { force: true });
  const profiles = join(dir, 'chain', 'profiles');
  mkdirSync(join(dir, 'chain'), { recursive: true });
  if (!existsSync(profiles)) spawnSync('cp', ['-r', new URL('../examples/site/profiles', import.meta.url).pathname, profiles]);
  const log = openSync(join(dir, 'aquilon.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'serve-aquilon', profiles, urlFile], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  if (!(await waitFor(() => existsSync(urlFile), 30_000))) throw new Error(`stack: the Aquilon server did not start: see ${join(dir, 'aquilon.log')}`);
  return { url: readFileSync(urlFile, 'utf8').trim(), pid: child.pid ?? 0 };
}

function allPids(state: StackState): number[] {
  return [...state.rabbit.pids, ...state.openstack.pids, state.aquilon.pid];
}

function printState(state: StackState): void {
  const { info } = state.openstack;
  say(`  RabbitMQ    ${state.rabbit.url}  (queue ${state.chain.queue})`);
  say(`  Keystone    ${info.authUrl}`);
  say(`  Glance      ${info.glanceUrl}`);
  say(`  Aquilon     ${state.chain.indexUrl}  (serving ${state.chain.profiles})`);
  say(`  image repo  ${state.chain.repo}  (origin: ${state.chain.remote})`);
  say('  users (project, password): builder (packuilon, builderpw), image-admin (admin in packuilon, imageadminpw), userb (tenant-b, userbpw)');
  say(`  clouds.yaml ${state.cloudsYaml}  (cloud packuilon-local = image-admin)`);
  say(`    export OS_CLIENT_CONFIG_FILE=${state.cloudsYaml}`);
  say('    openstack --os-cloud packuilon-local image list');
}

async function demo(dir: string): Promise<void> {
  const state = readState(dir);
  if (!state) throw new Error(`stack: nothing is up in ${dir}: run scripts/stack.sh up first`);
  const down = allPids(state).filter((pid) => !isAlive(pid));
  if (down.length) throw new Error(`stack: processes ${down.join(', ')} of ${dir} are gone: scripts/stack.sh down, then up`);
  const services = { amqpUrl: state.rabbit.url, openstack: state.openstack.info };
  const chain = openChain(state.chain, services);
  const admin = glanceAs(services.openstack, 'image-admin');
  const current = (await admin.list({ name: chain.imageName }))[0];
  const previous = current ? current.id : await seedPreviousImage(chain, services.openstack);
  say(`demo: the image in service: ${chain.imageName} ${previous}${current ? '' : ' (made now, shared with tenant-b)'}`);
  const started = Date.now();
  const run = await runChain(chain, services, {
    label: `stack demo ${new Date().toISOString()}`,
    onStage: (timing, detail) => say(`demo: ${timing.stage.padEnd(22)} ${(timing.ms / 1000).toFixed(2).padStart(7)} s  ${detail}`),
  });
  const failed = Object.entries(run.jobs).filter(([, v]) => v === 'FAIL').map(([job]) => job);
  if (run.pipelineCode !== 0 || failed.length) {
    process.stderr.write(`${run.pipelineLog}\n`);
    throw new Error(`stack: the pipeline failed (exit ${run.pipelineCode}; failed jobs: ${failed.join(', ') || 'none listed'})`);
  }
  const recordStart = Date.now();
  const history = (await chainHistory(chain, CHAIN_KEY)) as { commit?: string }[];
  say(`demo: ${'record'.padEnd(22)} ${((Date.now() - recordStart) / 1000).toFixed(2).padStart(7)} s  history ${CHAIN_KEY}: ${history.length} entr${history.length === 1 ? 'y' : 'ies'}, newest ${history[0]?.commit ?? '?'}`);
  const found = await admin.list({ packuilon_commit: run.commit });
  say(`demo: Glance images with packuilon_commit=${run.commit}: ${found.map((i) => `${i.name ?? '?'} ${i.id}`).join(', ') || 'none'}`);
  say(`demo: done in ${((Date.now() - started) / 1000).toFixed(1)} s; jobs: ${Object.entries(run.jobs).map(([j, v]) => `${j} ${v}`).join(', ')}`);
}

async function stop(dir: string): Promise<void> {
  const state = readState(dir);
  if (!state) {
    say(`stack: nothing is up in ${dir}`);
    return;
  }
  for (const pid of allPids(state)) tryKill(pid, 'SIGTERM');
  const gone = await waitFor(() => allPids(state).every((pid) => !isAlive(pid)), 20_000);
  if (!gone) for (const pid of allPids(state)) tryKill(pid, 'SIGKILL');
  spawnSync('epmd', ['-port', String(state.rabbit.epmdPort), '-kill']);
  rmSync(dir, { recursive: true, force: true });
  say(`stack: stopped (PIDs ${allPids(state).join(', ')}) and ${dir} removed`);
}

function status(dir: string): number {
  const state = readState(dir);
  if (!state) {
    say(`stack: nothing is up in ${dir}`);
    return 1;
  }
  const rows: [string, number][] = [...state.rabbit.pids.map((p): [string, number] => ['rabbitmq', p]), ['keystone', state.openstack.pids[0] ?? 0], ['glance', state.openstack.pids[1] ?? 0], ['aquilon', state.aquilon.pid]];
  for (const [name, pid] of rows) say(`  ${name.padEnd(10)} pid ${String(pid).padEnd(8)} ${isAlive(pid) ? 'running' : 'NOT RUNNING'}`);
  printState(state);
  return rows.every(([, pid]) => isAlive(pid)) ? 0 : 1;
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function serveAquilon(profiles: string, urlFile: string): Promise<void> {
  const server = await startAquilonServer({ dir: profiles });
  writeFileSync(urlFile, `${server.url}\n`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, ...args] = process.argv.slice(2);
  const dir = stackDir();
  try {
    if (command === 'up') await up(dir);
    else if (command === 'demo') await demo(dir);
    else if (command === 'down') await stop(dir);
    else if (command === 'status') process.exitCode = status(dir);
    else if (command === 'serve-aquilon' && args.length === 2) await serveAquilon(args[0]!, args[1]!);
    else {
      process.stderr.write('usage: scripts/stack.sh up|demo|down|status   (state in $PACKUILON_STACK_DIR or ~/.local/state/packuilon-stack)\n');
      process.exitCode = 2;
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
