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
import { randomUUID } from 'node:crypto';
import { profileDigest } from '../../src/shared/digest.js';
import { once } from 'node:events';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect } from 'amqplib';
import { parse, stringify } from 'yaml';
import { sharedRabbit, startRabbit, type Rabbit } from '../support/rabbit.js';
import { bundleIsFresh } from '../support/bundle.js';
import { cloneOf, git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeSite } from '../support/site.js';
import { auditRemote, publishProfiles, queueDepth, until, type Published, type RemoteAudit } from '../support/queue-audit.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ------------------------------------------------------------------ harness

/** The bundle if it is current, else the unbundled entry point through tsx. */
function cliCommand(): { argv: string[]; what: string } {
  if (bundleIsFresh()) return { argv: [join(ROOT, 'bin', 'packuilon.mjs')], what: 'bin/packuilon.mjs (bundle)' };
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href; // the consumer runs in the site's directory
  return { argv: ['--import', tsx, join(ROOT, 'src', 'cli', 'run.ts')], what: 'src/cli/run.ts via tsx (bundle older than src/)' };
}
const CLI = cliCommand();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` profiles, one message each, spread over `keys` images (personality `<tag>p<n>`). */
function profiles(tag: string, count: number, keys: number, from = 0): Published[] {
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    const body = profileText({ hostname: `${tag}-h${i}`, personality: `${tag}p${i % keys}` });
    const name = `${tag}-h${i}.json`;
    // The digest Packuilon records: of the canonical JSON, not the bytes.
    const digest = profileDigest(Buffer.from(body));
    return { name, digest, messageId: `${name}@${digest}`, body };
  });
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
function converged(site: Site, published: Published[], timeoutMs: number, consumers: ConsumerChild[]): Promise<RemoteAudit> {
  return until(`all ${published.length} profiles at the tip of ${site.remote}`, timeoutMs, () => {
    for (const c of consumers) {
      if (c.child.exitCode !== null) throw new Error(`consumer exited early (${c.child.exitCode})\n${c.stderr().split('\n').slice(-15).join('\n')}`);
    }
    const result = auditRemote(site.remote, published);
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

function summary(result: RemoteAudit): string {
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
      await publishProfiles(rabbit.url, site.queue, messages);
      writeFileSync(site.delayFile, '0.15'); // a push of a real forge takes time: the restart lands mid-stream
      const consumer = startConsumer(site.work, rabbit.url, 'consumer');
      await until('the first push', 20_000, () => pushes(site) >= 1);
      const started = Date.now();
      await rabbit.restart();
      t.diagnostic(`broker restarted in ${Date.now() - started} ms, after ${auditRemote(site.remote, messages).tip.size}/300 profiles were pushed`);
      rmSync(site.delayFile);
      const result = await converged(site, messages, 60_000, [consumer]);
      await until('the queue to be empty', 20_000, async () => (await queueDepth(rabbit!.url, site.queue)) === 0);
      await terminate(consumer);
      assert.equal(await queueDepth(rabbit.url, site.queue), 0);
      const logs = consumer.logs();
      assert.ok(logs.some((line) => line.msg === 'reconnected'), 'the consumer reconnected');
      const final = auditRemote(site.remote, messages);
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
    await publishProfiles(shared.url, site.queue, messages);
    writeFileSync(site.holdFile, '');
    const first = startConsumer(site.work, shared.url, 'first');
    await until('the first push', 20_000, () => pushes(site) >= 1);
    // The commits are in the remote; the consumer is still waiting for `git push` to return.
    first.child.kill('SIGKILL');
    const { signal } = await exitOf(first, 10_000);
    assert.equal(signal, 'SIGKILL');
    rmSync(site.holdFile);
    const pushedBeforeKill = auditRemote(site.remote, messages).tip.size;
    await until('the killed batch back on the queue', 10_000, async () => (await queueDepth(shared.url, site.queue)) === messages.length);
    t.diagnostic(`killed after pushing ${pushedBeforeKill} profiles; all ${messages.length} messages back on the queue`);
    assert.ok(pushedBeforeKill > 0, 'the kill came after a push');

    const second = startConsumer(site.work, shared.url, 'second');
    await converged(site, messages, 60_000, [second]);
    // Everything was pushed before the kill, so "converged" holds at once, and an
    // empty queue only means the messages are in the consumer's hands: a SIGTERM
    // then would give them back unsettled. Done is when it acked them all.
    await until(`the restarted consumer to ack all ${messages.length}`, 60_000, () => second.logs().filter((l) => l.msg === 'acked').length >= messages.length, 250);
    await until('the queue to be empty', 10_000, async () => (await queueDepth(shared.url, site.queue)) === 0);
    await terminate(second);
    assert.equal(await queueDepth(shared.url, site.queue), 0);
    const final = auditRemote(site.remote, messages);
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
    await publishProfiles(shared.url, site.queue, before);
    writeFileSync(site.holdFile, '');
    const first = startConsumer(site.work, shared.url, 'first');
    await until('the first push', 20_000, () => pushes(site) >= 1);
    first.child.kill('SIGKILL');
    await exitOf(first, 10_000);
    rmSync(site.holdFile);
    assert.equal(auditRemote(site.remote, before).lost.length, 0, 'the killed batch was pushed');
    await until('the killed batch back on the queue', 10_000, async () => (await queueDepth(shared.url, site.queue)) === before.length);
    const later = profiles('mix', 5, 5, 10); // one new profile for each of the 5 images
    await publishProfiles(shared.url, site.queue, later);

    const second = startConsumer(site.work, shared.url, 'second');
    const all = [...before, ...later];
    await converged(site, all, 30_000, [second]);
    await until('the queue to be empty', 10_000, async () => (await queueDepth(shared.url, site.queue)) === 0);
    await terminate(second);
    const final = auditRemote(site.remote, all);
    t.diagnostic(`${summary(final)}; ${second.stdout().trim()}`);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, [], 'a commit re-claims profiles (Profile / Profile-Digest / Message-Id trailers) that an earlier commit already recorded with the same digest');
  });

  it('two consumers on one queue, each with its own clone of one remote: lost 0, duplicates 0', async (t) => {
    const root = newRoot();
    const site = makeSite(root, { prefetch: 20 });
    const otherWork = cloneOf(site.remote, join(root, 'work2'));
    const messages = profiles('two', 300, 60);
    await publishProfiles(shared.url, site.queue, messages);
    const a = startConsumer(site.work, shared.url, 'a');
    const b = startConsumer(otherWork, shared.url, 'b');
    await converged(site, messages, 90_000, [a, b]);
    await until('the queue to be empty', 10_000, async () => (await queueDepth(shared.url, site.queue)) === 0);
    await Promise.all([terminate(a), terminate(b)]);
    const final = auditRemote(site.remote, messages);
    const races = [a, b].map((c) => c.logs().filter((l) => l.msg === 'push rejected: remote moved, preparing again on its new tip').length);
    t.diagnostic(`${summary(final)}; a: ${a.stdout().trim()}; b: ${b.stdout().trim()}; push races lost: a ${races[0]}, b ${races[1]}`);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, []);
    assert.equal(await queueDepth(shared.url, site.queue), 0);
  });

  it('SIGTERM while messages flow: exit 0; every message is committed or back on the queue, never both, never neither', async (t) => {
    const site = makeSite(newRoot(), { prefetch: 40 });
    const messages = profiles('term', 300, 60);
    writeFileSync(site.delayFile, '0.2'); // a batch is in hand when the signal comes
    const consumer = startConsumer(site.work, shared.url, 'consumer');
    // Messages arrive while the consumer works (~100/s): batches smaller than the prefetch, more arriving in hand.
    const flowing = (async () => {
      for (let at = 0; at < messages.length; at += 10) {
        await publishProfiles(shared.url, site.queue, messages.slice(at, at + 10));
        await sleep(80);
      }
    })();
    await until('three pushes', 20_000, () => pushes(site) >= 3);
    const signalled = Date.now();
    await terminate(consumer);
    const drainMs = Date.now() - signalled;
    await flowing;
    const result = auditRemote(site.remote, messages);
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
    await publishProfiles(shared.url, site.queue, messages);
    const first = startConsumer(site.work, shared.url, 'first', [], { ownGroup: true });
    await until('git to hold the branch lock', 20_000, () => existsSync(held));
    process.kill(-first.child.pid!, 'SIGKILL');
    await exitOf(first, 10_000);
    rmSync(hold);
    const locks = execFileSync('find', ['.git', '-name', '*.lock'], { cwd: site.work, encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    t.diagnostic(`left behind: ${locks.join(', ') || 'no lock'}; pushed before the kill: ${auditRemote(site.remote, messages).tip.size}/${messages.length}`);
    await until('the killed batch back on the queue', 10_000, async () => (await queueDepth(shared.url, site.queue)) === messages.length);

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
    const final = auditRemote(site.remote, messages);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, []);
    assert.equal(await queueDepth(shared.url, site.queue), 0);
  });

  it('git remote unreachable: messages stay on the queue, nothing dead-lettered; back again: they commit', async (t) => {
    const site = makeSite(newRoot());
    const messages = profiles('away', 20, 5);
    renameSync(site.remote, `${site.remote}.away`);
    await publishProfiles(shared.url, site.queue, messages);
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
    assert.equal(await queueDepth(shared.url, `${site.queue}.dead`), 0);
    assert.match(consumer.stderr(), /remote unreachable/);
    renameSync(`${site.remote}.away`, site.remote);
    await converged(site, messages, 30_000, [consumer]);
    await until('the queue to be empty', 10_000, async () => (await queueDepth(shared.url, site.queue)) === 0);
    const end = await metrics(port);
    await terminate(consumer);
    const final = auditRemote(site.remote, messages);
    t.diagnostic(`${summary(final)}; ${consumer.stdout().trim()}`);
    assert.deepEqual(final.lost, []);
    assert.deepEqual(final.duplicates, []);
    assert.equal(end.messages_dead_lettered_total, 0);
    assert.equal(await queueDepth(shared.url, `${site.queue}.dead`), 0);
  });
});
