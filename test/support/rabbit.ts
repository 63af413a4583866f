// A private, throwaway RabbitMQ node for tests: own node name, ports, epmd,
// HOME and data dirs in a temp dir, loopback only. Set-up follows the
// rabbit-instance.sh recipe; see its notes for why each variable is set.
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, mkdir, readFile, rm, writeFile, access } from 'node:fs/promises';
import { rmSync, openSync, closeSync, readFileSync, cpSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { addExitCleanup, removeExitCleanup } from './exit-cleanup.js';

const run = promisify(execFile);
const BIN = '/usr/lib/rabbitmq/bin';
// rabbitmqctl 3.10 always listens on 35672-35682 for its own CLI node, so a
// broker port there clashes with the CLI we run to wait for it.
const CLI_PORTS = { min: 35672, max: 35682 };

export interface Rabbit {
  /** amqp://guest:guest@127.0.0.1:PORT/ (guest is allowed on loopback). */
  url: string;
  port: number;
  nodeName: string;
  /** Its HOME, data and logs (`log/`, `stdout.log`); removed by stop(). */
  dir: string;
  /** Shut the node down for good, kill its epmd, delete its directory. */
  stop(): Promise<void>;
  /** Graceful shutdown (if running) and start again on the same ports and data. */
  restart(): Promise<void>;
  /** SIGKILL the Erlang VM: a crash. Bring it back with restart(). */
  kill9(): Promise<void>;
  /** Stop / start the RabbitMQ application only: clients are disconnected, the VM stays. */
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  /** rabbitmqctl -n NODE ARGS…, stdout. */
  ctl(args: string[]): Promise<string>;
}


export interface StartRabbitOptions {
  /** Run in this directory (made if missing) instead of a new temp dir. */
  dir?: string;
  /**
   * Outlive this process (the local stack, scripts/stack.sh): no exit hook kills the node;
   * stop it by the PID in `pidFile` (SIGTERM), then `epmd -port <epmdPort> -kill`.
   */
  detached?: boolean;
}

/** Start a private broker; about 5 s. Installs rabbitmq-server with apt-get if missing. */
export async function startRabbit(options: StartRabbitOptions = {}): Promise<Rabbit & { pidFile: string; epmdPort: number; launcherPid(): number | undefined }> {
  await ensureInstalled();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'packuilon-rabbit-')));
  await mkdir(dir, { recursive: true });
  const [port, distPort, epmdPort] = await threeFreePorts();
  const nodeName = `packuilon_test_${port}@localhost`;
  const pidFile = join(dir, 'rabbit.pid');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir, // .erlang.cookie lives here, shared with rabbitmqctl
    RABBITMQ_CONF_ENV_FILE: '/dev/null',
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: pidFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
  };
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(join(dir, 'rabbitmq.conf'), '');

  let launcher: ChildProcess | undefined;
  const ctl = async (args: string[]): Promise<string> => {
    try {
      return (await run(`${BIN}/rabbitmqctl`, ['-n', nodeName, ...args], { env, cwd: dir })).stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`rabbitmqctl ${args.join(' ')}: ${(e.stderr || e.message).trim().split('\n').slice(0, 3).join(' | ')}`);
    }
  };
  const killAllSync = (): void => {
    // Last resort when the test process exits without stop(): no async work possible here.
    for (const pid of [Number.parseInt(readOr(pidFile, ''), 10), launcher?.pid]) if (pid) tryKill(pid);
    killEpmd(epmdPort);
    keepLogs(dir, port);
    rmSync(dir, { recursive: true, force: true });
  };
  const launch = async (): Promise<void> => {
    await rm(pidFile, { force: true }); // a stale pid file makes `wait` watch a dead process
    const out = openSync(join(dir, 'stdout.log'), 'a');
    const child = spawn(`${BIN}/rabbitmq-server`, [], { env, cwd: dir, stdio: ['ignore', out, out], detached: options.detached ?? false });
    closeSync(out);
    child.unref();
    launcher = child;
    try {
      await ctl(['wait', pidFile, '--timeout', '60']);
    } catch (error) {
      const log = await readFile(join(dir, 'stdout.log'), 'utf8').catch(() => '');
      throw new Error(`${(error as Error).message}\n--- stdout.log (tail) ---\n${log.split('\n').slice(-15).join('\n')}`);
    }
  };
  const shutdown = async (): Promise<void> => {
    const child = launcher;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM makes the VM stop RabbitMQ gracefully (as `rabbitmqctl shutdown` does) without booting a CLI node.
    const pid = Number.parseInt(readOr(pidFile, ''), 10);
    await untilExit(child, async () => (pid ? tryKill(pid, 'SIGTERM') : child.kill('SIGTERM')));
  };

  if (!options.detached) addExitCleanup(killAllSync);
  try {
    await launch();
  } catch (error) {
    killAllSync();
    removeExitCleanup(killAllSync);
    throw error;
  }
  return {
    pidFile,
    epmdPort,
    launcherPid: () => launcher?.pid,
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    port,
    nodeName,
    dir,
    ctl,
    stopApp: async () => void (await ctl(['stop_app'])),
    startApp: async () => void (await ctl(['start_app'])),
    restart: async () => {
      await shutdown();
      await launch();
    },
    kill9: async () => {
      const child = launcher;
      const pid = Number.parseInt(readOr(pidFile, ''), 10);
      if (!child || !pid || child.exitCode !== null || child.signalCode !== null) return;
      // the launcher script exits once the VM is gone
      await untilExit(child, async () => process.kill(pid, 'SIGKILL'));
    },
    stop: async () => {
      await shutdown().catch(() => undefined);
      killEpmd(epmdPort);
      keepLogs(dir, port);
      await rm(dir, { recursive: true, force: true });
      removeExitCleanup(killAllSync);
    },
  };
}

/**
 * The suite's shared broker when PACKUILON_TEST_AMQP_URL is set (by running the
 * tests under this file, see below), else a private one. Tests that restart or
 * kill the broker must use startRabbit() instead; every test uses its own queue names.
 */
export async function sharedRabbit(): Promise<{ url: string; release(): Promise<void> }> {
  const url = process.env.PACKUILON_TEST_AMQP_URL;
  if (url) return { url, release: async () => undefined };
  const rabbit = await startRabbit();
  return { url: rabbit.url, release: () => rabbit.stop() };
}

/** epmd outlives the node, and refuses -kill while it still lists one (briefly, after a VM dies). */
function killEpmd(port: number): void {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { stdout } = spawnSync('epmd', ['-port', String(port), '-kill'], { encoding: 'utf8' });
    if (!/living nodes/i.test(stdout ?? '')) return; // "Killed", or no epmd to kill
    spawnSync('sleep', ['0.1']);
  }
}

async function ensureInstalled(): Promise<void> {
  if (await access(`${BIN}/rabbitmq-server`).then(() => true, () => false)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '-q', 'rabbitmq-server'], { env });
  try {
    await install();
  } catch {
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'update', '-q'], { env });
    await install();
  }
}

/** Distinct free loopback ports (AMQP, distribution, epmd), all held open until every one is chosen. */
async function threeFreePorts(): Promise<[number, number, number]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < 3) {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push(server);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      if (port && (port < CLI_PORTS.min || port > CLI_PORTS.max)) ports.push(port);
    }
    return ports as [number, number, number];
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}


/** Do `action` and wait for `child` to exit; ref'd meanwhile, or an idle test process would just end. */
async function untilExit(child: ChildProcess, action: () => Promise<unknown>): Promise<void> {
  child.ref();
  try {
    const exited = once(child, 'exit');
    await action();
    await exited;
  } finally {
    child.unref();
  }
}

function tryKill(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** With PACKUILON_TEST_LOG_DIR set (scripts/test-loop.sh), the broker's logs outlive it there. */
function keepLogs(dir: string, port: number): void {
  const keep = process.env.PACKUILON_TEST_LOG_DIR;
  if (!keep) return;
  try {
    cpSync(join(dir, 'log'), join(keep, `rabbit-${port}`), { recursive: true });
    cpSync(join(dir, 'stdout.log'), join(keep, `rabbit-${port}`, 'stdout.log'));
  } catch {
    // nothing written yet
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

// `node --import tsx test/support/rabbit.ts CMD ARGS…`: one broker for a whole
// run; CMD sees PACKUILON_TEST_AMQP_URL and test files share it via sharedRabbit().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    process.stderr.write('usage: node --import tsx test/support/rabbit.ts CMD [ARGS…]\n');
    process.exit(2);
  }
  const rabbit = await startRabbit();
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, PACKUILON_TEST_AMQP_URL: rabbit.url } });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  await rabbit.stop();
  process.exit(code ?? (signal ? 128 : 1));
}
