// Queue mode under faults, with the real CLI as child processes: a broker
// restart, `kill -9` of a consumer, two consumers on one queue, SIGTERM drain,
// an unreachable git remote. Every test checks the outcome against git in the
// bare remote: every published profile digest is in the `images/<key>/image.json`
// manifests at the tip (lost = 0), and no two commits claim the same
// (Profile, Profile-Digest) pair unless the profile changed in between
// (duplicates = 0).
//
//   node --import tsx --test test/e2e/queue-faults.slow.test.ts
//
// The consumer is `bin/packuilon.mjs` when dist/bundle is newer than src/,
// else `node --import tsx src/cli/run.ts` (the same entry point, unbundled).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect } from 'amqplib';
import { parse, stringify } from 'yaml';
import { sharedRabbit, startRabbit, type Rabbit } from '../support/rabbit.js';
import { cloneOf, git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeSite } from '../support/site.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ------------------------------------------------------------------ harness

/** The bundle if it is current, else the unbundled entry point through tsx. */
function cliCommand(): { argv: string[]; what: string } {
  const bundle = join(ROOT, 'dist', 'bundle', 'packuilon.mjs');
  const newestSource = Math.max(
    ...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => statSync(join(ROOT, 'src', file)).mtimeMs),
  );
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource) return { argv: [join(ROOT, 'bin', 'packuilon.mjs')], what: 'bin/packuilon.mjs (bundle)' };
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href; // the consumer runs in the site's directory
  return { argv: ['--import', tsx, join(ROOT, 'src', 'cli', 'run.ts')], what: 'src/cli/run.ts via tsx (bundle older than src/)' };
}
const CLI = cliCommand();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface Published {
  name: string;
  digest: string;
  messageId: string;
  body: string;
}

/** `count` profiles, one message each, spread over `keys` images (personality `<tag>p<n>`). */
function profiles(tag: string, count: number, keys: number, from = 0): Published[] {
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    const body = profileText({ hostname: `${tag}-h${i}`, personality: `${tag}p${i % keys}` });
    const name = `${tag}-h${i}.json`;
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    return { name, digest, messageId: `${name}@${digest}`, body };
  });
}

/** Publish as `detect` does: persistent, JSON, id and headers; resolves on the broker's confirms. */
async function publish(url: string, queue: string, messages: Published[]): Promise<void> {
  const connection = await connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    for (const m of messages) {
      channel.sendToQueue(queue, Buffer.from(m.body), {
        persistent: true,
        contentType: 'application/json',
        messageId: m.messageId,
        headers: { 'packuilon-profile': m.name, 'packuilon-profile-digest': m.digest },
      });
    }
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Ready messages (unacked ones are not counted while a consumer holds them). */
async function depth(url: string, queue: string): Promise<number> {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    return (await channel.assertQueue(queue, { durable: true })).messageCount;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Take every message off the queue (acked) and return their ids. */
async function drainQueue(url: string, queue: string): Promise<string[]> {
  const connection = await connect(url);
  const ids: string[] = [];
  try {
    const channel = await connection.createChannel();
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (!message) break;
      ids.push(String(message.properties.messageId));
    }
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
  return ids;
}

interface Site {
  root: string;
  remote: string;
  work: string;
  queue: string;
  /** Lines the bare remote's post-receive hook appends: `push <ns> <old> <new>` and `id <ns> <Message-Id>`. */
  pushLog: string;
  /** While this file exists the hook blocks: the push is in the remote, its client still waits. */
  holdFile: string;
  /** Seconds the hook sleeps on every push when this file exists. */
  delayFile: string;
}

/** A bare remote with a post-receive hook, a clone holding the site (trigger queue) on main. */
function makeSite(root: string, options: { prefetch?: number } = {}): Site {
  const queue = `faults-${randomUUID().slice(0, 8)}`;
  const { work, remote } = repoWithRemote(root);
  const file = writeSite(work, { profilesDir: join(root, 'profiles'), stateDir: join(root, 'state'), remote: true });
  const config = parse(readFileSync(file, 'utf8'));
  writeFileSync(file, stringify({ ...config, trigger: 'queue', queue: { name: queue, ...(options.prefetch ? { prefetch: options.prefetch } : {}) } }));
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'site');
  git(work, 'push', '--quiet', 'origin', 'main');
  const site = { root, remote, work, queue, pushLog: join(root, 'push.log'), holdFile: join(root, 'hold'), delayFile: join(root, 'delay') };
  installHook(site);
  return site;
}

function installHook(site: Pick<Site, 'remote' | 'pushLog' | 'holdFile' | 'delayFile'>): void {
  const hook = join(site.remote, 'hooks', 'post-receive');
  writeFileSync(
    hook,
    `#!/bin/sh
now=$(date +%s%N)
while read old new ref; do
  echo "push $now $old $new $ref" >> '${site.pushLog}'
  if [ "$old" = 0000000000000000000000000000000000000000 ]; then range=$new; else range=$old..$new; fi
  git log --format='%(trailers:key=Message-Id,valueonly)' "$range" | grep -v '^$' | sed "s/^/id $now /" >> '${site.pushLog}'
done
if [ -e '${site.delayFile}' ]; then sleep "$(cat '${site.delayFile}')"; fi
while [ -e '${site.holdFile}' ]; do sleep 0.05; done
exit 0
`,
  );
  chmodSync(hook, 0o755);
}

function pushes(site: Site): number {
  if (!existsSync(site.pushLog)) return 0;
  return readFileSync(site.pushLog, 'utf8').split('\n').filter((line) => line.startsWith('push ')).length;
}

interface Audit {
  /** Published profiles whose digest is not in a manifest at the tip. */
  lost: string[];
  /** `profile@digest` claimed by a commit when the previous claim of that profile had the same digest. */
  duplicates: string[];
  /** Image commits on main. */
  commits: number;
  /** Profile → digest over every manifest at the tip. */
  tip: Map<string, string>;
}

/** What the bare remote's main says about the published profiles. */
function audit(remote: string, published: Published[]): Audit {
  const manifests = git(remote, 'ls-tree', '-r', '--name-only', 'main', 'images/')
    .split('\n')
    .filter((path) => path.endsWith('/image.json'));
  const tip = new Map<string, string>();
  if (manifests.length > 0) {
    const out = execFileSync('git', ['cat-file', '--batch'], { cwd: remote, env: gitEnv, input: manifests.map((path) => `main:${path}\n`).join(''), maxBuffer: 1 << 30 });
    let at = 0;
    while (at < out.length) {
      const eol = out.indexOf(10, at);
      const size = Number(out.subarray(at, eol).toString('utf8').split(' ')[2]);
      const text = out.subarray(eol + 1, eol + 1 + size).toString('utf8');
      at = eol + 1 + size + 1;
      for (const [name, digest] of Object.entries((JSON.parse(text) as { profiles: Record<string, string> }).profiles)) tip.set(name, digest);
    }
  }
  const log = execFileSync('git', ['log', '--reverse', '--format=%s%x1f%B%x1e', 'main'], { cwd: remote, env: gitEnv, encoding: 'utf8', maxBuffer: 1 << 30 });
  const last = new Map<string, string>();
  const duplicates: string[] = [];
  let commits = 0;
  for (const record of log.split('\x1e')) {
    const [subject, body] = record.trim().split('\x1f');
    if (!subject?.startsWith('images(') || body === undefined) continue;
    commits++;
    const lines = body.split('\n');
    lines.forEach((line, index) => {
      const profile = /^Profile: (.+)$/.exec(line)?.[1];
      const digest = /^Profile-Digest: (.+)$/.exec(lines[index + 1] ?? '')?.[1];
      if (!profile || !digest) return;
      if (last.get(profile) === digest) duplicates.push(`${profile}@${digest}`);
      last.set(profile, digest);
    });
  }
  return { lost: published.filter((p) => tip.get(p.name) !== p.digest).map((p) => p.name), duplicates, commits, tip };
}

interface ConsumerChild {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines of stderr. */
  logs(): Array<Record<string, unknown>>;
}

const children = new Set<ChildProcess>();

/** `packuilon consume` as a child process; output to files in `dir`. */
function startConsumer(dir: string, url: string, name: string, extra: string[] = [], options: { ownGroup?: boolean } = {}): ConsumerChild {
  const out = join(dir, `${name}.stdout`);
  const err = join(dir, `${name}.stderr`);
  const outFd = openSync(out, 'a');
  const errFd = openSync(err, 'a');
  const child = spawn(process.execPath, [...CLI.argv, 'consume', '--config', join(dir, 'packuilon.yaml'), ...extra], {
    cwd: dir,
    env: { ...gitEnv, PACKUILON_QUEUE_URL: url, LOG_LEVEL: 'info' },
    stdio: ['ignore', outFd, errFd],
    detached: options.ownGroup ?? false, // its own process group: a kill of the group takes its git with it
  });
  closeSync(outFd);
  closeSync(errFd);
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  return {
    child,
    exited,
    stdout: () => read(out),
    stderr: () => read(err),
    logs: () =>
      read(err)
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function exitOf(consumer: ConsumerChild, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`consumer did not exit within ${timeoutMs} ms\n--- stderr tail ---\n${consumer.stderr().split('\n').slice(-15).join('\n')}`)), timeoutMs);
  });
  try {
    return await Promise.race([consumer.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM and expect the drain to end in exit 0. */
async function terminate(consumer: ConsumerChild, timeoutMs = 30_000): Promise<void> {
  consumer.child.kill('SIGTERM');
  const { code, signal } = await exitOf(consumer, timeoutMs);
  assert.equal(code, 0, `consumer exit code ${code} signal ${signal}\n${consumer.stderr().split('\n').slice(-15).join('\n')}`);
}

/** Wait until every published digest is at the tip of the remote. */
function converged(site: Site, published: Published[], timeoutMs: number, consumers: ConsumerChild[]): Promise<Audit> {
  return until(`all ${published.length} profiles at the tip of ${site.remote}`, timeoutMs, () => {
    for (const c of consumers) {
      if (c.child.exitCode !== null) throw new Error(`consumer exited early (${c.child.exitCode})\n${c.stderr().split('\n').slice(-15).join('\n')}`);
    }
    const result = audit(site.remote, published);
    return result.lost.length === 0 ? result : undefined;
  }, 250);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.startsWith('packuilon_'))
      .map((line) => {
        const [name, value] = line.split(' ');
        return [name!.replace(/^packuilon_/, ''), Number(value)];
      }),
  );
}

function summary(result: Audit): string {
  return `lost=${result.lost.length} duplicates=${result.duplicates.length} commits=${result.commits}`;
}

// ------------------------------------------------------------------ tests

describe('queue mode under faults (real CLI consumers, real broker, real git)', { concurrency: false }, () => {
  let shared: Awaited<ReturnType<typeof sharedRabbit>>;
  const roots: Array<{ path: string; remove(): void }> = [];
  const newRoot = () => {
    const root = tempDir('packuilon-faults-');
    roots.push(root);
    return root.path;
  };

  before(async () => {
    shared = await sharedRabbit();
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    // A hook still holding (a test failed mid-way) must not outlive the run.
    for (const root of roots) for (const hold of ['hold', 'hold-branch']) rmSync(join(root.path, hold), { force: true });
    await shared?.release();
    if (!process.env.KEEP_TMP) for (const root of roots) root.remove();
  });

  it('a broker restart mid-stream: the consumer reconnects and finishes; lost 0, duplicates 0', async (t) => {
    t.diagnostic(`consumer: ${CLI.what}`);
    let rabbit: Rabbit | undefined;
    try {
      rabbit = await startRabbit();
      const site = makeSite(newRoot(), { prefetch: 20 });
      const messages = profiles('rs', 300, 60);
      await publish(rabbit.url, site.queue, messages);
      writeFileSync(site.delayFile, '0.15'); // a push of a real forge takes time: the restart lands mid-stream
      const consumer = startConsumer(site.work, rabbit.url, 'consumer');
      await until('the first push', 20_000, () => pushes(site) >= 1);
      const started = Date.now();
      await rabbit.restart();
      t.diagnostic(`broker restarted in ${Date.now() - started} ms, after ${audit(site.remote, messages).tip.size}/300 profiles were pushed`);
      rmSync(site.delayFile);
      const result = await converged(site, messages, 60_000, [consumer]);
      await until('the queue to be empty', 20_000, async () => (await depth(rabbit!.url, site.queue)) === 0);
      await terminate(consumer);
      assert.equal(await depth(rabbit.url, site.queue), 0);
      const logs = consumer.logs();
      assert.ok(logs.some((line) => line.msg === 'reconnected'), 'the consumer reconnected');
      const final = audit(site.remote, messages);
      t.diagnostic(`${summary(final)} redelivered batches: ${logs.filter((l) => l.msg === 'lost the broker; messages in hand will be redelivered').length}; ${consumer.stdout().trim()}`);
      assert.deepEqual(final.lost, []);
      assert.deepEqual(final.duplicates, []);
      assert.equal(result.tip.size, 300);
    } finally {
      await rabbit?.stop();
    }
  });

  it('kill -9 of the consumer after its push, before its acks, then a restart: lost 0, duplicates 0', async (t) => {
    const site = makeSite(newRoot());
    const messages = profiles('k9', 300, 60);
    await publish(shared.url, site.queue, messages);
    writeFileSync(site.holdFile, '');
    const first = startConsumer(site.work, shared.url, 'first');
    await until('the first push', 20_000, () => pushes(site) >= 1);
    // The commits are in the remote; the consumer is still waiting for `git push` to return.
    first.child.kill('SIGKILL');
    const { signal } = await exitOf(first, 10_000);
    assert.equal(signal, 'SIGKILL');
    rmSync(site.holdFile);
    const pushedBeforeKill = audit(site.remote, messages).tip.size;
    await until('the killed batch back on the queue', 10_000, async () => (await depth(shared.url, site.queue)) === messages.length);
    t.diagnostic(`killed after pushing ${pushedBeforeKill} profiles; all ${messages.length} messages back on the queue`);
    assert.ok(pushedBeforeKill > 0, 'the kill came after a push');

    const second = startConsumer(site.work, shared.url, 'second');
    await converged(site, messages, 60_000, [second]);
    await until('the queue to be empty', 10_000, async () => (await depth(shared.url, site.queue)) === 0);
    await terminate(second);
    assert.equal(await depth(shared.url, site.queue), 0);
    const final = audit(site.remote, messages);
    t.diagnostic(`${summary(final)}; restarted consumer: ${second.stdout().trim()}`);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, []);
  });

  it('kill -9 after a push, new messages for the same images meanwhile: the redelivered profiles are not claimed again', async (t) => {
    // The everyday shape of a crash: batches smaller than the prefetch, and
    // new changes arriving while the consumer is down. After the restart one
    // batch holds the redelivered (already pushed) profiles and new ones of
    // the same images.
    const site = makeSite(newRoot());
    const before = profiles('mix', 10, 5);
    await publish(shared.url, site.queue, before);
    writeFileSync(site.holdFile, '');
    const first = startConsumer(site.work, shared.url, 'first');
    await until('the first push', 20_000, () => pushes(site) >= 1);
    first.child.kill('SIGKILL');
    await exitOf(first, 10_000);
    rmSync(site.holdFile);
    assert.equal(audit(site.remote, before).lost.length, 0, 'the killed batch was pushed');
    await until('the killed batch back on the queue', 10_000, async () => (await depth(shared.url, site.queue)) === before.length);
    const later = profiles('mix', 5, 5, 10); // one new profile for each of the 5 images
    await publish(shared.url, site.queue, later);

    const second = startConsumer(site.work, shared.url, 'second');
    const all = [...before, ...later];
    await converged(site, all, 30_000, [second]);
    await until('the queue to be empty', 10_000, async () => (await depth(shared.url, site.queue)) === 0);
    await terminate(second);
    const final = audit(site.remote, all);
    t.diagnostic(`${summary(final)}; ${second.stdout().trim()}`);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, [], 'a commit re-claims profiles (Profile / Profile-Digest / Message-Id trailers) that an earlier commit already recorded with the same digest');
  });

  it('two consumers on one queue, each with its own clone of one remote: lost 0, duplicates 0', async (t) => {
    const root = newRoot();
    const site = makeSite(root, { prefetch: 20 });
    const otherWork = cloneOf(site.remote, join(root, 'work2'));
    const messages = profiles('two', 300, 60);
    await publish(shared.url, site.queue, messages);
    const a = startConsumer(site.work, shared.url, 'a');
    const b = startConsumer(otherWork, shared.url, 'b');
    await converged(site, messages, 90_000, [a, b]);
    await until('the queue to be empty', 10_000, async () => (await depth(shared.url, site.queue)) === 0);
    await Promise.all([terminate(a), terminate(b)]);
    const final = audit(site.remote, messages);
    const races = [a, b].map((c) => c.logs().filter((l) => l.msg === 'push rejected: remote moved, preparing again on its new tip').length);
    t.diagnostic(`${summary(final)}; a: ${a.stdout().trim()}; b: ${b.stdout().trim()}; push races lost: a ${races[0]}, b ${races[1]}`);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, []);
    assert.equal(await depth(shared.url, site.queue), 0);
  });

  it('SIGTERM while messages flow: exit 0; every message is committed or back on the queue, never both, never neither', async (t) => {
    const site = makeSite(newRoot(), { prefetch: 40 });
    const messages = profiles('term', 300, 60);
    writeFileSync(site.delayFile, '0.2'); // a batch is in hand when the signal comes
    const consumer = startConsumer(site.work, shared.url, 'consumer');
    // Messages arrive while the consumer works (~100/s): batches smaller than the prefetch, more arriving in hand.
    const flowing = (async () => {
      for (let at = 0; at < messages.length; at += 10) {
        await publish(shared.url, site.queue, messages.slice(at, at + 10));
        await sleep(80);
      }
    })();
    await until('three pushes', 20_000, () => pushes(site) >= 3);
    const signalled = Date.now();
    await terminate(consumer);
    const drainMs = Date.now() - signalled;
    await flowing;
    const result = audit(site.remote, messages);
    const committed = new Set(messages.filter((m) => result.tip.get(m.name) === m.digest).map((m) => m.messageId));
    const remaining = await drainQueue(shared.url, site.queue);
    const both = remaining.filter((id) => committed.has(id));
    const neither = messages.filter((m) => !committed.has(m.messageId) && !remaining.includes(m.messageId)).map((m) => m.name);
    const stopped = consumer.logs().find((line) => line.msg === 'consumer stopped');
    t.diagnostic(`drained in ${drainMs} ms (released unhandled: ${String(stopped?.released)}): committed ${committed.size} + on the queue ${remaining.length} = ${committed.size + remaining.length} of ${messages.length}; ${consumer.stdout().trim()}`);
    assert.deepEqual(both, [], 'committed and still on the queue (an ack lost at shutdown)');
    assert.deepEqual(neither, [], 'neither committed nor on the queue (lost)');
    assert.equal(new Set(remaining).size, remaining.length, 'no message twice on the queue');
    assert.equal(committed.size + remaining.length, messages.length);
    assert.ok(committed.size > 0 && remaining.length > 0, 'the signal came mid-stream');
    assert.deepEqual(result.duplicates, []);
  });

  it('kill -9 of the consumer with its git (process group) while git holds a ref lock: the restarted consumer still converges', async (t) => {
    // systemd's final SIGKILL, the OOM killer on the cgroup, a power cut: git
    // dies too and leaves its *.lock behind. Here the kill lands while
    // `git merge --ff-only` (after the push) holds refs/heads/main.lock.
    const site = makeSite(newRoot());
    const messages = profiles('lock', 10, 5);
    const held = join(site.root, 'held');
    const hold = join(site.root, 'hold-branch'); // not site.holdFile: that one holds the remote's hook
    const hook = join(site.work, '.git', 'hooks', 'reference-transaction');
    writeFileSync(
      hook,
      `#!/bin/sh
input=$(cat)
[ "$1" = prepared ] || exit 0
case "$input" in *" refs/heads/main"*) ;; *) exit 0 ;; esac
[ -e '${hold}' ] || exit 0
touch '${held}'
while [ -e '${hold}' ]; do sleep 0.05; done
`,
    );
    chmodSync(hook, 0o755);
    writeFileSync(hold, '');
    await publish(shared.url, site.queue, messages);
    const first = startConsumer(site.work, shared.url, 'first', [], { ownGroup: true });
    await until('git to hold the branch lock', 20_000, () => existsSync(held));
    process.kill(-first.child.pid!, 'SIGKILL');
    await exitOf(first, 10_000);
    rmSync(hold);
    const locks = execFileSync('find', ['.git', '-name', '*.lock'], { cwd: site.work, encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    t.diagnostic(`left behind: ${locks.join(', ') || 'no lock'}; pushed before the kill: ${audit(site.remote, messages).tip.size}/${messages.length}`);
    await until('the killed batch back on the queue', 10_000, async () => (await depth(shared.url, site.queue)) === messages.length);

    const port = await freePort();
    const second = startConsumer(site.work, shared.url, 'second', ['--metrics-port', String(port)]);
    try {
      await until('the restarted consumer to ack all messages', 15_000, async () => {
        const m = await metrics(port).catch(() => undefined);
        return m !== undefined && m.messages_acked_total === messages.length;
      }, 300);
    } catch (error) {
      const failures = second.logs().filter((l) => l.msg === 'batch not committed; requeued for retry').map((l) => String(l.err));
      throw new Error(`${(error as Error).message}; the consumer is wedged: ${failures.length} failed batches, last: ${failures.at(-1)}`);
    } finally {
      if (second.child.exitCode === null) await terminate(second);
    }
    const final = audit(site.remote, messages);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, []);
    assert.equal(await depth(shared.url, site.queue), 0);
  });

  it('git remote unreachable: messages stay on the queue, nothing dead-lettered; back again: they commit', async (t) => {
    const site = makeSite(newRoot());
    const messages = profiles('away', 20, 5);
    renameSync(site.remote, `${site.remote}.away`);
    await publish(shared.url, site.queue, messages);
    const port = await freePort();
    const consumer = startConsumer(site.work, shared.url, 'consumer', ['--metrics-port', String(port)]);
    const failing = await until('two failed attempts', 30_000, async () => {
      const m = await metrics(port).catch(() => undefined);
      return m && m.batches_failed_total! >= 2 ? m : undefined;
    });
    t.diagnostic(`while away: ${JSON.stringify({ received: failing.messages_received_total, requeued: failing.messages_requeued_total, acked: failing.messages_acked_total, dead: failing.messages_dead_lettered_total })}`);
    assert.equal(failing.messages_acked_total, 0);
    assert.equal(failing.messages_dead_lettered_total, 0);
    assert.ok(failing.messages_requeued_total! >= messages.length, 'the batch went back to the queue');
    assert.equal(await depth(shared.url, `${site.queue}.dead`), 0);
    assert.match(consumer.stderr(), /remote unreachable/);
    renameSync(`${site.remote}.away`, site.remote);
    await converged(site, messages, 30_000, [consumer]);
    await until('the queue to be empty', 10_000, async () => (await depth(shared.url, site.queue)) === 0);
    const end = await metrics(port);
    await terminate(consumer);
    const final = audit(site.remote, messages);
    t.diagnostic(`${summary(final)}; ${consumer.stdout().trim()}`);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, []);
    assert.equal(end.messages_dead_lettered_total, 0);
    assert.equal(await depth(shared.url, `${site.queue}.dead`), 0);
  });
});
