/**
 * Queue-mode benchmark: the real `packuilon consume` as a child process, a
 * private RabbitMQ node, a bare git remote as the forge.
 *
 *   node --import tsx test/bench/queue-bench.ts              full run, writes docs/benchmarks-queue.md
 *   node --import tsx test/bench/queue-bench.ts --quick      small sizes, one run each, prints only
 *   … --only 'latency|durability'                            scenarios whose id matches (prints only)
 *   … --profile                                              one extra throughput run with --cpu-prof
 *                                                            and a git shim: where the time goes
 *   BENCH_RUNS=3    throughput runs (median reported)
 *   BENCH_SEED=42   seed of the durability run's kill and restart points
 *   BENCH_LATENCY_SECONDS=60   length of the latency run
 *
 * Scenarios (each on a fresh repo, remote and queue):
 *   throughput  5,000 messages over 200 images published as fast as a confirm
 *               channel goes, then one `consume --max-messages 5000`; messages/s and
 *               commits/s from spawn to exit, median of BENCH_RUNS. Target ≥ 500 msg/s.
 *   latency     20 messages/s for 60 s into a running consumer; per message, publish →
 *               its commit in the remote (a post-receive hook stamps each pushed
 *               Message-Id trailer). Target p99 ≤ 1 s.
 *   durability  1,000 messages published at 100/s while the consumer is SIGKILLed at 5
 *               random points (restarted each time, as systemd would) and the broker is
 *               restarted once; then lost and duplicates, checked against git.
 *
 * The outcome of every run is checked against the bare remote: every published
 * profile digest in the image manifests at the tip, no commit re-claiming a
 * (Profile, Profile-Digest) pair. A lost profile fails the bench.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { profileDigest } from '../../src/shared/digest.js';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from 'amqplib';
import { parse, stringify } from 'yaml';
import { startRabbit, type Rabbit } from '../support/rabbit.js';
import { git, gitEnv, repoWithRemote } from '../support/git-repos.js';
import { profileText, writeSite } from '../support/site.js';
import { auditRemote, publishProfiles, publishProperties, queueDepth, until, type Published } from '../support/queue-audit.js';
import { logTimeline, newestCpuProfile, summariseCpuProfile, summariseGitLog, writeGitShim } from './profile-summary.js';
import { makeRng } from './gen-site.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'packuilon.mjs');
const CLI_UNBUNDLED = join(ROOT, 'dist', 'cli', 'run.js');
const DOCS = join(ROOT, 'docs', 'benchmarks-queue.md');
const TARGETS = { messagesPerSecond: 500, p99Ms: 1000 };

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
  },
});
const quick = flags.quick === true;
const only = flags.only ? new RegExp(flags.only) : undefined;
const runs = process.env.BENCH_RUNS ? Number(process.env.BENCH_RUNS) : quick ? 1 : 3;
const seed = process.env.BENCH_SEED ? Number(process.env.BENCH_SEED) : Date.now() % 100_000;
const P = quick
  ? { tpMessages: 1000, tpKeys: 200, latRate: 20, latSeconds: 15, durMessages: 300, durKeys: 60, durRate: 100, kills: 3 }
  : { tpMessages: 5000, tpKeys: 200, latRate: 20, latSeconds: 60, durMessages: 1000, durKeys: 200, durRate: 100, kills: 5 };
if (process.env.BENCH_LATENCY_SECONDS) P.latSeconds = Number(process.env.BENCH_LATENCY_SECONDS);
const writeDocs = !quick && !only && !flags['no-docs'];

// ------------------------------------------------------------------ harness

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A timer that does not keep the process alive (for races against a child's exit). */
const deadline = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(resolve, ms, value).unref());
const nowMs = () => performance.timeOrigin + performance.now();
const benchStart = Date.now();
const log = (text: string) => process.stderr.write(`[queue-bench +${((Date.now() - benchStart) / 1000).toFixed(1)} s] ${text}\n`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

function profiles(tag: string, count: number, keys: number): Published[] {
  return Array.from({ length: count }, (_, i) => {
    const body = profileText({ hostname: `${tag}-h${i}`, personality: `${tag}p${i % keys}` });
    const name = `${tag}-h${i}.json`;
    // The digest Packuilon records: of the canonical JSON, not the bytes.
    const digest = profileDigest(Buffer.from(body));
    return { name, digest, messageId: `${name}@${digest}`, body };
  });
}

interface Site {
  root: string;
  remote: string;
  work: string;
  queue: string;
  pushLog: string;
}

/**
 * A bare remote and a work clone holding the site (trigger queue). The remote's
 * post-receive hook appends `push <ns> <old> <new>` per push and, with `ids`,
 * `id <ns> <Message-Id>` per pushed commit trailer (`date +%s%N` at hook start,
 * right after the ref moved).
 */
function makeSite(base: string, options: { ids: boolean; prefetch?: number }): Site {
  const root = mkdtempSync(join(base, 'site-'));
  const queue = `bench-${randomUUID().slice(0, 8)}`;
  const { work, remote } = repoWithRemote(root);
  const file = writeSite(work, { profilesDir: join(root, 'profiles'), stateDir: join(root, 'state'), remote: true });
  const config = parse(readFileSync(file, 'utf8'));
  writeFileSync(file, stringify({ ...config, trigger: 'queue', queue: { name: queue, ...(options.prefetch ? { prefetch: options.prefetch } : {}) } }));
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'site');
  git(work, 'push', '--quiet', 'origin', 'main');
  const pushLog = join(root, 'push.log');
  const hook = join(remote, 'hooks', 'post-receive');
  const ids = options.ids
    ? `  if [ "$old" = 0000000000000000000000000000000000000000 ]; then range=$new; else range=$old..$new; fi
  git log --format='%(trailers:key=Message-Id,valueonly)' "$range" | grep -v '^$' | sed "s/^/id $now /" >> '${pushLog}'
`
    : '';
  writeFileSync(hook, `#!/bin/sh\nnow=$(date +%s%N)\nwhile read old new ref; do\n  echo "push $now $old $new $ref" >> '${pushLog}'\n${ids}done\nexit 0\n`);
  chmodSync(hook, 0o755);
  return { root, remote, work, queue, pushLog };
}

function pushLines(site: Site): string[] {
  return existsSync(site.pushLog) ? readFileSync(site.pushLog, 'utf8').split('\n') : [];
}

interface Child {
  child: ChildProcess;
  spawnedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr(): string;
  stdout(): string;
}

function startConsumer(site: Site, url: string, name: string, options: { args?: string[]; nodeArgs?: string[]; env?: NodeJS.ProcessEnv; entry?: string } = {}): Child {
  const out = join(site.root, `${name}.stdout`);
  const err = join(site.root, `${name}.stderr`);
  const outFd = openSync(out, 'a');
  const errFd = openSync(err, 'a');
  const spawnedAt = nowMs();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.entry ?? CLI, 'consume', '--config', join(site.work, 'packuilon.yaml'), ...(options.args ?? [])], {
    cwd: site.work,
    env: { ...gitEnv, PACKUILON_QUEUE_URL: url, LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', outFd, errFd],
  });
  closeSync(outFd);
  closeSync(errFd);
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, at: nowMs() });
    }),
  );
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  return { child, spawnedAt, exited, stderr: () => read(err), stdout: () => read(out) };
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function terminate(consumer: Child): Promise<number | null> {
  consumer.child.kill('SIGTERM');
  const { code } = await Promise.race([consumer.exited, deadline(60_000, { code: -1 })]);
  return code;
}

/** The bundle must be current: the bench measures what ships. */
function ensureBuilt(): void {
  const bundle = join(ROOT, 'dist', 'bundle', 'packuilon.mjs');
  const newest = Math.max(
    ...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => statSync(join(ROOT, 'src', file)).mtimeMs),
  );
  if (existsSync(bundle) && existsSync(CLI_UNBUNDLED) && statSync(bundle).mtimeMs >= newest && statSync(CLI_UNBUNDLED).mtimeMs >= newest) return;
  log('dist/ is older than src/: npm run build');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

// ------------------------------------------------------------------ scenarios

interface ThroughputRun {
  messages: number;
  commits: number;
  pushes: number;
  seconds: number;
  messagesPerSecond: number;
  commitsPerSecond: number;
  publishPerSecond: number;
  lost: number;
  reclaimed: number;
  /** 1-minute load average when the run ended (other work on the machine skews the figures). */
  load: number;
  prefetch: number;
}

async function throughputRun(rabbit: Rabbit, base: string, index: number, options: { profile?: { dir: string }; prefetch?: number } = {}): Promise<ThroughputRun> {
  const { profile } = options;
  const site = makeSite(base, { ids: false, ...(options.prefetch ? { prefetch: options.prefetch } : {}) });
  const messages = profiles(`tp${index}`, P.tpMessages, P.tpKeys);
  const published = nowMs();
  await publishProfiles(rabbit.url, site.queue, messages);
  const publishSeconds = (nowMs() - published) / 1000;
  const shim = profile ? writeGitShim(join(profile.dir, 'git-shim')) : undefined;
  const consumer = startConsumer(site, rabbit.url, 'consumer', {
    args: ['--max-messages', String(messages.length)],
    ...(profile
      ? {
          nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profile.dir}`],
          env: { PATH: `${shim}:${process.env.PATH ?? ''}`, BENCH_GIT_LOG: join(profile.dir, 'git.log') },
          entry: CLI_UNBUNDLED, // frames name src/ modules
        }
      : {}),
  });
  const { code, at } = await Promise.race([consumer.exited, deadline(300_000, { code: -1, at: nowMs() })]);
  if (code !== 0) throw new Error(`consumer exited ${code}\n${consumer.stderr().split('\n').slice(-10).join('\n')}`);
  const seconds = (at - consumer.spawnedAt) / 1000;
  const result = auditRemote(site.remote, messages);
  if (result.lost.length > 0) throw new Error(`throughput run ${index}: ${result.lost.length} profiles lost`);
  if (profile) {
    writeFileSync(join(profile.dir, 'consumer.stderr'), consumer.stderr());
    writeFileSync(join(profile.dir, 'spawned-at'), String(Math.round(consumer.spawnedAt)));
  }
  return {
    messages: messages.length,
    commits: result.commits,
    pushes: pushLines(site).filter((line) => line.startsWith('push ')).length,
    seconds,
    messagesPerSecond: messages.length / seconds,
    commitsPerSecond: result.commits / seconds,
    publishPerSecond: messages.length / publishSeconds,
    lost: result.lost.length,
    reclaimed: result.reclaimed,
    load: loadavg()[0]!,
    prefetch: options.prefetch ?? 100,
  };
}

interface LatencyResult {
  messages: number;
  rate: number;
  seconds: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  pushes: number;
  lost: number;
}

async function latencyRun(rabbit: Rabbit, base: string): Promise<LatencyResult> {
  const site = makeSite(base, { ids: true });
  const count = P.latRate * P.latSeconds;
  const messages = profiles('lat', count, P.tpKeys);
  const consumer = startConsumer(site, rabbit.url, 'consumer');
  await until('the consumer to subscribe', 20_000, () => consumer.stderr().includes('"msg":"consuming"'), 50);
  const connection = await connect(rabbit.url);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(site.queue, { durable: true });
  const sentAt = new Map<string, number>();
  const start = nowMs() + 100;
  for (const [i, m] of messages.entries()) {
    const due = start + (i * 1000) / P.latRate;
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    sentAt.set(m.messageId, nowMs());
    channel.sendToQueue(site.queue, Buffer.from(m.body), publishProperties(m));
  }
  await channel.waitForConfirms();
  await connection.close();
  const pushedAt = new Map<string, number>();
  await until('every message pushed', 60_000, () => {
    for (const line of pushLines(site)) {
      const match = /^id (\d+) (.+)$/.exec(line);
      if (match && !pushedAt.has(match[2]!)) pushedAt.set(match[2]!, Number(match[1]) / 1e6);
    }
    return pushedAt.size >= messages.length;
  }, 200);
  const code = await terminate(consumer);
  if (code !== 0) throw new Error(`consumer exited ${code} on SIGTERM`);
  const latencies = messages.map((m) => pushedAt.get(m.messageId)! - sentAt.get(m.messageId)!).sort((a, b) => a - b);
  const result = auditRemote(site.remote, messages);
  return {
    messages: count,
    rate: P.latRate,
    seconds: P.latSeconds,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1]!,
    pushes: pushLines(site).filter((line) => line.startsWith('push ')).length,
    lost: result.lost.length,
  };
}

interface DurabilityResult {
  messages: number;
  seed: number;
  kills: number[];
  brokerRestartAt: number;
  consumerStarts: number;
  exitsNonZero: number;
  acks: number;
  seconds: number;
  lost: number;
  duplicateCommits: number;
  reclaimed: number;
  commits: number;
  queueLeft: number;
}

async function durabilityRun(base: string): Promise<DurabilityResult> {
  const rabbit = await startRabbit();
  log('durability: broker started');
  try {
    const site = makeSite(base, { ids: false });
    const messages = profiles('dur', P.durMessages, P.durKeys);
    const rng = makeRng(seed); // seeded: BENCH_SEED repeats the kill and restart points
    const publishSeconds = P.durMessages / P.durRate;
    const kills = Array.from({ length: P.kills }, () => Math.round(500 + rng() * (publishSeconds * 1000 + 1500))).sort((a, b) => a - b);
    const brokerRestartAt = Math.round(1000 + rng() * (publishSeconds * 1000 - 1000));
    log(`durability: seed ${seed}, SIGKILL at ${kills.join(', ')} ms, broker restart at ${brokerRestartAt} ms`);

    // A supervisor, as systemd's Restart=always with RestartSec=0.2 s.
    let current: Child | undefined;
    let starts = 0;
    let nonZero = 0;
    let supervising = true;
    const allStderr: string[] = [];
    const supervisor = (async () => {
      while (supervising) {
        starts++;
        const consumer = startConsumer(site, rabbit.url, `consumer-${starts}`);
        current = consumer;
        const { code } = await consumer.exited;
        allStderr.push(consumer.stderr());
        if (code !== 0 && code !== null) nonZero++; // e.g. started while the broker was down: exit 1, restarted
        if (supervising) await sleep(200);
      }
    })();

    const t0 = nowMs();
    const at = (ms: number) => sleep(Math.max(0, t0 + ms - nowMs()));
    const publisher = (async () => {
      const chunk = Math.max(1, Math.round(P.durRate / 10));
      for (let i = 0; i < messages.length; i += chunk) {
        await at((i / P.durRate) * 1000);
        // At least once, as `detect` does: a chunk not confirmed is sent again.
        for (;;) {
          try {
            await publishProfiles(rabbit.url, site.queue, messages.slice(i, i + chunk));
            break;
          } catch {
            await sleep(250);
          }
        }
      }
    })();
    // The broker restart runs beside the kills; a kill waits for a consumer that is up and subscribed
    // (one started while the broker is down exits 1 at once and is restarted).
    const restart = (async () => {
      await at(brokerRestartAt);
      log(`  +${Math.round(nowMs() - t0)} ms broker restart…`);
      await rabbit.restart();
      log(`  +${Math.round(nowMs() - t0)} ms broker back`);
    })();
    const killed: number[] = [];
    const faults = (async () => {
      for (const ms of kills) {
        await at(ms);
        const victim = await until('a subscribed consumer to kill', 60_000, () => {
          const c = current;
          return c && c.child.exitCode === null && c.child.signalCode === null && c.stderr().includes('"msg":"consuming"') ? c : undefined;
        }, 20);
        victim.child.kill('SIGKILL');
        killed.push(Math.round(nowMs() - t0));
        log(`  +${killed.at(-1)} ms SIGKILL consumer #${starts}`);
        await victim.exited;
      }
    })();
    await Promise.all([publisher, faults, restart]);
    let result = auditRemote(site.remote, messages);
    await until('every profile at the tip and the queue empty', 180_000, async () => {
      result = auditRemote(site.remote, messages);
      return result.lost.length === 0 && (await queueDepth(rabbit.url, site.queue).catch(() => -1)) === 0;
    }, 500).catch((error: unknown) => log(`durability: ${(error as Error).message}`));
    const seconds = (nowMs() - t0) / 1000;
    supervising = false;
    if (current) await terminate(current);
    await supervisor;
    result = auditRemote(site.remote, messages);
    const acks = allStderr
      .join('\n')
      .split('\n')
      .filter((line) => line.includes('"msg":"acked"')).length;
    return {
      messages: messages.length,
      seed,
      kills: killed,
      brokerRestartAt,
      consumerStarts: starts,
      exitsNonZero: nonZero,
      acks,
      seconds,
      lost: result.lost.length,
      duplicateCommits: result.duplicateCommits,
      reclaimed: result.reclaimed,
      commits: result.commits,
      queueLeft: await queueDepth(rabbit.url, site.queue),
    };
  } finally {
    await rabbit.stop();
  }
}

async function profileRun(rabbit: Rabbit, base: string): Promise<string[]> {
  const dir = join(ROOT, '.tmp', 'bench', 'queue-profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const run = await throughputRun(rabbit, base, 99, { profile: { dir } });
  const lines = [`Profiled throughput run (unbundled dist/, --cpu-prof, git shim): ${run.messages} messages in ${run.seconds.toFixed(2)} s, ${run.pushes} pushes, ${run.commits} commits.`, ''];
  const file = newestCpuProfile(dir);
  const gitUsage = summariseGitLog(join(dir, 'git.log'));
  if (file) {
    const cpu = summariseCpuProfile(file, ROOT, 12);
    const idle = cpu.byModule.find((m) => m.name === '(idle)')?.ms ?? 0;
    const spawnMs = cpu.topFunctions.filter((f) => f.name === 'ChildProcess.spawn').reduce((sum, f) => sum + f.ms, 0);
    const per = (ms: number) => (ms / run.pushes).toFixed(0);
    lines.push(`Per batch of ${(run.messages / run.pushes).toFixed(0)} messages: ${per(gitUsage.totalMs)} ms inside git processes (wall), ${per(cpu.totalMs - idle)} ms of consumer CPU, of which ${per(spawnMs)} ms is Node's synchronous \`spawn()\` of those git processes; render, manifests and JSON are a few ms.`, '');
    lines.push(`Consumer CPU profile, ${cpu.totalMs.toFixed(0)} ms; self time by module ((idle) = waiting for git or the broker):`, '');
    lines.push('| module | ms | % |', '|---|--:|--:|');
    for (const m of cpu.byModule.slice(0, 12)) lines.push(`| ${m.name} | ${m.ms.toFixed(0)} | ${((m.ms / cpu.totalMs) * 100).toFixed(1)} |`);
    lines.push('', 'Top functions (self time):', '', '| function | where | ms |', '|---|---|--:|');
    for (const f of cpu.topFunctions) lines.push(`| ${f.name} | ${f.where} | ${f.ms.toFixed(0)} |`);
  }
  lines.push('', `git: ${gitUsage.calls} processes, ${gitUsage.totalMs.toFixed(0)} ms wall in total (${((gitUsage.totalMs / 1000 / run.seconds) * 100).toFixed(0)}% of the run):`, '');
  lines.push('| git subcommand | calls | ms | ms/call |', '|---|--:|--:|--:|');
  for (const g of gitUsage.bySubcommand) lines.push(`| ${g.subcommand} | ${g.calls} | ${g.ms.toFixed(0)} | ${(g.ms / g.calls).toFixed(1)} |`);
  const stderr = readFileSync(join(dir, 'consumer.stderr'), 'utf8');
  const timeline = logTimeline(stderr, Number(readFileSync(join(dir, 'spawned-at'), 'utf8')));
  lines.push('', 'Consumer log timeline (ms after spawn, first lines):', '', '```', ...timeline.slice(0, 14), '```', '');
  // The cost is per batch (fetch, fast-import, push, merge), so the batch size sets the rate.
  lines.push('Same backlog, other prefetch values (one run each, the bundle, not profiled):', '', '| prefetch (= largest batch) | seconds | messages/s | pushes | load |', '|--:|--:|--:|--:|--:|');
  for (const prefetch of [25, 100, 400]) {
    const r = await throughputRun(rabbit, base, 100 + prefetch, { prefetch });
    lines.push(`| ${prefetch} | ${r.seconds.toFixed(2)} | ${r.messagesPerSecond.toFixed(0)} | ${r.pushes} | ${r.load.toFixed(1)} |`);
  }
  lines.push('');
  return lines;
}

// ------------------------------------------------------------------ main

const selected = (id: string) => !only || only.test(id);
ensureBuilt();
const base = mkdtempSync(join(tmpdir(), 'packuilon-queue-bench-'));
const startedAt = new Date();
const throughput: ThroughputRun[] = [];
let latency: LatencyResult | undefined;
let durability: DurabilityResult | undefined;
let profileLines: string[] = [];
let rabbit: Rabbit | undefined;
try {
  if (selected('throughput') || selected('latency') || flags.profile) rabbit = await startRabbit();
  if (selected('throughput')) {
    for (let i = 0; i < runs; i++) {
      const run = await throughputRun(rabbit!, base, i);
      throughput.push(run);
      log(`throughput run ${i + 1}/${runs}: ${run.messages} msgs in ${run.seconds.toFixed(2)} s = ${run.messagesPerSecond.toFixed(0)} msg/s, ${run.commits} commits (${run.commitsPerSecond.toFixed(0)}/s), ${run.pushes} pushes; publish ${run.publishPerSecond.toFixed(0)} msg/s; lost ${run.lost}; load ${run.load.toFixed(1)}`);
    }
  }
  if (flags.profile) {
    profileLines = await profileRun(rabbit!, base);
    log('profile:\n' + profileLines.join('\n'));
  }
  if (selected('latency')) {
    latency = await latencyRun(rabbit!, base);
    log(`latency: ${latency.messages} msgs at ${latency.rate}/s: p50 ${latency.p50.toFixed(0)} ms, p90 ${latency.p90.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms, max ${latency.max.toFixed(0)} ms, ${latency.pushes} pushes, lost ${latency.lost}`);
  }
  await rabbit?.stop();
  rabbit = undefined;
  if (selected('durability')) {
    durability = await durabilityRun(base);
    log(`durability: lost ${durability.lost}, duplicate commits ${durability.duplicateCommits}, re-claimed trailer pairs ${durability.reclaimed}, ${durability.consumerStarts} consumer starts (${durability.exitsNonZero} exits ≠ 0), ${durability.acks} acks, queue left ${durability.queueLeft}`);
  }
} finally {
  await rabbit?.stop();
  if (!process.env.KEEP_TMP) rmSync(base, { recursive: true, force: true });
}

// ------------------------------------------------------------------ report

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const lines: string[] = [];
const command = `node --import tsx test/bench/queue-bench.ts${quick ? ' --quick' : ''}${flags.profile ? ' --profile' : ''}`;
lines.push('# Queue-mode benchmarks', '');
lines.push(`Generated by \`${command}\` on ${startedAt.toISOString().slice(0, 10)}. Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, ${fmt(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.versions.node}, ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim()}, RabbitMQ ${rabbitVersion()} (private node on loopback), 1-minute load average at the start ${loadavg()[0]!.toFixed(1)} (other jobs on the machine skew the figures), the consumer is \`node bin/packuilon.mjs consume\` (the bundle) at LOG_LEVEL=info, default config (queue.prefetch 400: batches of up to 400 messages, one push each). The forge is a bare repo on the same disk.`, '');
lines.push('| scenario | figure | target | result | ratio to target |', '|---|---|---|--:|--:|');
if (throughput.length) {
  const mps = median(throughput.map((r) => r.messagesPerSecond));
  const cps = median(throughput.map((r) => r.commitsPerSecond));
  lines.push(`| throughput: ${fmt(P.tpMessages)} msgs / ${P.tpKeys} images, backlog drained by one consumer | messages/s (median of ${throughput.length}) | ≥ ${TARGETS.messagesPerSecond} | **${fmt(mps)}** | ${(mps / TARGETS.messagesPerSecond).toFixed(2)}× ${mps >= TARGETS.messagesPerSecond ? '✓' : '✗'} |`);
  lines.push(`| | commits/s (median) | — | ${fmt(cps)} | |`);
}
if (latency) {
  lines.push(`| latency: ${latency.rate} msgs/s for ${latency.seconds} s, publish → commit in the remote | p50 / p90 / p99 / max ms | p99 ≤ ${TARGETS.p99Ms} | ${fmt(latency.p50)} / ${fmt(latency.p90)} / **${fmt(latency.p99)}** / ${fmt(latency.max)} | ${(latency.p99 / TARGETS.p99Ms).toFixed(2)} of budget ${latency.p99 <= TARGETS.p99Ms ? '✓' : '✗'} |`);
}
if (durability) {
  const ok = durability.lost === 0 && durability.duplicateCommits === 0;
  lines.push(`| durability: ${fmt(durability.messages)} msgs, ${durability.kills.length} × SIGKILL of the consumer, 1 broker restart | lost / duplicate commits | 0 / 0 | **${durability.lost} / ${durability.duplicateCommits}** | ${ok ? '✓' : '✗'} |`);
  lines.push(`| | re-claimed (Profile, Profile-Digest) trailer pairs | 0 | ${durability.reclaimed} | ${durability.reclaimed === 0 ? '✓' : '✗ (see below)'} |`);
}
lines.push('');
if (throughput.length) {
  lines.push('## Throughput runs', '');
  lines.push('Publish: one confirm channel, every message sent then `waitForConfirms`. Consume: `consume --max-messages N`, wall time from spawn to exit (start-up, connect, drain, stop included). Checked: every profile digest in the manifests at the tip of the remote.', '');
  lines.push('| run | seconds | messages/s | commits | commits/s | pushes | publish msgs/s | lost | load |', '|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  throughput.forEach((r, i) => lines.push(`| ${i + 1} | ${r.seconds.toFixed(2)} | ${fmt(r.messagesPerSecond)} | ${fmt(r.commits)} | ${fmt(r.commitsPerSecond)} | ${r.pushes} | ${fmt(r.publishPerSecond)} | ${r.lost} | ${r.load.toFixed(1)} |`));
  lines.push('');
}
if (latency) {
  lines.push('## Latency', '');
  lines.push(`${fmt(latency.messages)} messages at a steady ${latency.rate}/s (one every ${1000 / latency.rate} ms, on a schedule) into a running consumer. Per message: the time its commit's \`Message-Id\` trailer is stamped by the remote's post-receive hook (\`date +%s%N\`, right after the ref moved) minus the time it was handed to the channel. ${latency.pushes} pushes for ${fmt(latency.messages)} messages. Lost: ${latency.lost}.`, '');
}
if (durability) {
  lines.push('## Durability', '');
  lines.push(`${fmt(durability.messages)} messages over ${P.durKeys} images, published at ${P.durRate}/s (at least once: a chunk not confirmed is sent again) while the consumer was SIGKILLed (the node process, \`kill -9 PID\`) at ${durability.kills.map((ms) => `${fmt(ms)} ms`).join(', ')} and the broker restarted at ${fmt(durability.brokerRestartAt)} ms (seed ${durability.seed}; \`BENCH_SEED=${durability.seed}\` repeats it). A supervisor restarts the consumer 200 ms after any exit (as systemd's \`Restart=always\`): ${durability.consumerStarts} starts, ${durability.exitsNonZero} of them ended ≠ 0 (started while the broker was down). Converged in ${durability.seconds.toFixed(1)} s; ${durability.commits} image commits; queue left: ${durability.queueLeft}.`, '');
  lines.push('Checked against git: **lost** = published profiles whose digest is not in an `images/<key>/image.json` at the tip; **duplicate commits** = commits whose every `Profile` / `Profile-Digest` pair was already claimed, with that digest, by the previous commit naming that profile (a revert A → B → A is not one); **re-claimed pairs** = such pairs inside commits that also carry a real change.', '');
}
lines.push('## Reading the figures', '');
lines.push('- **The cost is per batch, not per message.** The consumer takes what is in hand (up to `queue.prefetch`, 100 by default, gathered for at most 50 ms), renders it, writes one commit per image with a single `git fast-import`, and pushes once: about a dozen git processes per batch (symbolic-ref, rev-parse, ls-tree, cat-file, fast-import, push, merge --ff-only; a fetch only after a lost race) whatever the batch size. Throughput is therefore close to prefetch ÷ batch time; a larger prefetch drains a backlog faster (see the prefetch table when the bench ran with `--profile`).');
if (throughput.length) {
  const batchMs = median(throughput.map((r) => (r.seconds * 1000) / r.pushes));
  const perBatch = median(throughput.map((r) => r.messages / r.pushes));
  lines.push(`- **Budget:** ${TARGETS.messagesPerSecond} messages/s with batches of ${fmt(perBatch)} messages leaves ${fmt((perBatch / TARGETS.messagesPerSecond) * 1000)} ms per batch; the measured runs took ${fmt(batchMs)} ms per batch (wall time ÷ pushes, start-up included).`);
}
lines.push('- **Commits ≈ messages here** because the 200 images are spread over batches of 100: two messages of one image rarely share a batch. Messages of one image in one batch make a single commit.');
lines.push('- **Latency** = up to 50 ms of linger + the batch already in progress + its own batch (render, fast-import, push, merge). At 20 messages/s a batch holds a handful of messages.');
lines.push('- **Re-claimed trailer pairs** would be a redelivered profile, already recorded in the manifest, listed again in the `Profile:` / `Message-Id:` trailers of a later commit of its image. A commit now claims only the profiles whose digest is new (`test/e2e/queue-faults.slow.test.ts` covers the crash-then-new-messages case), so this must stay 0.');
lines.push("- **Spread.** The machine is shared: with the default prefetch (400) throughput runs measured 875–1,113 messages/s and latency p99 247–360 ms on a quiet machine; another CPU-heavy job beside it roughly halves throughput. The worst latency gaps come in the first seconds after the consumer starts and at git's automatic `gc` (about every 6,700 loose objects, ~0.9 s of CPU in the clone and in the bare remote). Compare runs, not single figures, and mind the load column.");
lines.push('');
if (profileLines.length) lines.push('## Where the time goes', '', ...profileLines);
const text = `${lines.join('\n')}\n`;
process.stdout.write(text);
if (writeDocs) {
  writeFileSync(DOCS, text);
  log(`wrote ${DOCS}`);
}
const failed = throughput.some((r) => r.lost > 0) || (latency?.lost ?? 0) > 0 || (durability?.lost ?? 0) > 0;
process.exitCode = failed ? 1 : 0;

function rabbitVersion(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'rabbitmq-server'], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}
