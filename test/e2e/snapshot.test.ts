// bin/packuilon starts from the V8 start-up snapshot (dist/snapshot, made by
// `npm run build`): the same commands must behave there as from the ESM bundle,
// with the environment, working directory, arguments and signals of the run,
// not of the build; and a snapshot that does not belong to this node or this
// directory must never be used (such a blob crashes node before our code runs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { parse, stringify } from 'yaml';
import { ROOT, ensureFreshBundle } from '../support/bundle.js';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { sharedRabbit } from '../support/rabbit.js';
import { profileText, writeProfiles, writeSite } from '../support/site.js';

interface Launched { code: number | null; stdout: string; stderr: string; from: 'snapshot' | 'esm' | undefined }

function launch(launcher: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; until?: (stdout: string) => boolean }): Promise<Launched> {
  const child = spawn(launcher, args, { cwd: options.cwd, env: { ...options.env, PACKUILON_LAUNCH_TRACE: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (options.until?.(stdout)) child.kill('SIGTERM');
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return once(child, 'exit').then(([code]) => ({
    code: code as number | null,
    stdout,
    stderr,
    from: /starting from the snapshot/.test(stderr) ? 'snapshot' : /starting from .*packuilon\.mjs/.test(stderr) ? 'esm' : undefined,
  }));
}

const pick = (object: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(keys.map((key) => [key, object[key]]));

describe('bin/packuilon from the start-up snapshot (real git, RabbitMQ)', () => {
  const root = tempDir();
  const launcher = join(ROOT, 'bin', 'packuilon');
  const profiles = join(root.path, 'profiles');
  let work: string;
  let remote: string;

  before(() => {
    ensureFreshBundle();
    assert.ok(existsSync(join(ROOT, 'dist', 'snapshot', 'identity')), 'npm run build made no snapshot on this node (see its "snapshot:" line)');
    ({ work, remote } = repoWithRemote(root.path));
    writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state'), remote: true });
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
  });
  after(() => root.remove());

  it('detect in direct mode: the config of the working directory, git spawned, commits pushed; the log settings of the run', async () => {
    writeProfiles(profiles, {
      'a.cloud.template.json': { text: profileText({ hostname: 'a' }), mtime: 100 },
      'b.cloud.template.json': { text: profileText({ hostname: 'b', personality: 'web' }), mtime: 100 },
    });
    const result = await launch(launcher, ['detect', '--json'], { cwd: work, env: { ...gitEnv, LOG_FORMAT: 'pretty' } });
    assert.equal(result.from, 'snapshot', result.stderr);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { committed: number; commits: number };
    assert.deepEqual([report.committed, report.commits], [2, 2]);
    assert.deepEqual(git(remote, 'log', '--format=%s', '-2', 'main').split('\n').sort(), [
      'images(nubesvms-sl7x-x86_64): new image from a.cloud.template.json',
      'images(web-sl7x-x86_64): new image from b.cloud.template.json',
    ]);
    // pino-pretty is loaded at run time, as the run's environment asks: not in the snapshot.
    assert.match(result.stderr, /INFO: image change committed/, 'the environment is the run\'s, not the build\'s');
    assert.doesNotMatch(result.stderr, /"level"/);
    const quiet = await launch(launcher, ['detect'], { cwd: work, env: { ...gitEnv, LOG_LEVEL: 'silent' } });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /"level"/);
    assert.match(quiet.stdout, /^detect: 2 matching profiles, 0 fetched/m);
  });

  it('detect in queue mode loads the broker client after the start and publishes', async () => {
    const broker = await sharedRabbit();
    let amqp: ChannelModel | undefined;
    try {
      amqp = await connect(broker.url);
      const queue = `snapshot-${randomUUID().slice(0, 8)}`;
      const config = join(root.path, 'queue.yaml');
      writeFileSync(config, stringify({ ...parse(readFileSync(join(work, 'packuilon.yaml'), 'utf8')), repo: { path: work, branch: 'main', remote: 'origin' }, state_dir: join(root.path, 'queue-state'), trigger: 'queue', queue: { name: queue } }));
      const result = await launch(launcher, ['detect', '--config', config, '--json'], { cwd: root.path, env: { ...gitEnv, LOG_LEVEL: 'silent', PACKUILON_QUEUE_URL: broker.url } });
      assert.equal(result.from, 'snapshot', result.stderr);
      assert.equal(result.code, 0, result.stderr);
      assert.equal((JSON.parse(result.stdout) as { published: number }).published, 2);
      const channel = await amqp.createChannel();
      assert.equal((await channel.checkQueue(queue)).messageCount, 2);
      await channel.deleteQueue(queue);
      await channel.close();
    } finally {
      await amqp?.close();
      await broker.release();
    }
  });

  it('detect over https from the snapshot: node:https loads at the first https URL; the baseline keeps the index memo and the next pass diffs against it', async () => {
    const tls = join(root.path, 'tls');
    mkdirSync(tls);
    const [key, cert] = [join(tls, 'key.pem'), join(tls, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const site = join(root.path, 'https-profiles');
    writeProfiles(site, {
      'c.cloud.template.json': { text: profileText({ hostname: 'c' }), mtime: 100 },
      'd.cloud.template.json': { text: profileText({ hostname: 'd' }), mtime: 100 },
    });
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (request, response) => {
      const name = decodeURIComponent(new URL(request.url ?? '/', 'https://127.0.0.1').pathname.replace(/^\/profiles\//, ''));
      if (!existsSync(join(site, name))) return void response.writeHead(404).end();
      response.end(readFileSync(join(site, name)));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const config = join(root.path, 'https.yaml');
      const stateDir = join(root.path, 'https-state');
      writeFileSync(config, stringify({ aquilon: { index_url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/profiles/profiles-info.xml` }, state_dir: stateDir, trigger: 'queue', queue: { name: 'unused' } }));
      const env = { ...gitEnv, LOG_LEVEL: 'debug', LOG_FORMAT: 'json', NODE_EXTRA_CA_CERTS: cert };
      const baseline = await launch(launcher, ['detect', '--config', config, '--baseline', '--json'], { cwd: root.path, env });
      assert.equal(baseline.from, 'snapshot', baseline.stderr);
      assert.equal(baseline.code, 0, baseline.stderr);
      assert.deepEqual(pick(JSON.parse(baseline.stdout) as Record<string, unknown>, 'listed', 'fetched'), { listed: 2, fetched: 2 });
      assert.ok(existsSync(join(stateDir, 'detector-index.memo')), 'a queue-mode baseline keeps the index memo');
      // Nothing changed: planned from the memo, no broker needed.
      const next = await launch(launcher, ['detect', '--config', config, '--json'], { cwd: root.path, env });
      assert.equal(next.code, 0, next.stderr);
      assert.match(next.stderr, /index diffed against the last pass/);
      assert.deepEqual(pick(JSON.parse(next.stdout) as Record<string, unknown>, 'listed', 'fetched', 'published'), { listed: 2, fetched: 0, published: 0 });
    } finally {
      server.close();
    }
  });

  it('other commands start from the ESM bundle (the snapshot holds detect alone); a bad flag to detect is exit 2 from the snapshot', async () => {
    const render = await launch(launcher, ['render', join(profiles, 'a.cloud.template.json')], { cwd: work, env: { ...gitEnv, LOG_LEVEL: 'silent' } });
    assert.equal(render.from, 'esm', render.stderr);
    assert.equal(render.code, 0, render.stderr);
    assert.match(render.stdout, /nubesvms-sl7x-x86_64/);
    const bad = await launch(launcher, ['detect', '--trigger', 'sideways'], { cwd: work, env: gitEnv });
    assert.equal(bad.from, 'snapshot', bad.stderr);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--trigger <mode>' argument 'sideways' is invalid/);
    const version = await launch(launcher, ['--version'], { cwd: work, env: gitEnv });
    assert.equal(version.from, 'esm');
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('watch through the launcher (exec: the signal reaches node) stops on SIGTERM with exit 0', async () => {
    const result = await launch(launcher, ['watch', '--interval', '0.2'], { cwd: work, env: { ...gitEnv, LOG_LEVEL: 'silent' }, until: (stdout) => (stdout.match(/^detect:/gm) ?? []).length >= 2 });
    assert.equal(result.from, 'esm', result.stderr);
    assert.equal(result.code, 0, result.stderr);
  });

  it('a snapshot made elsewhere is not used: a copied package, an identity that is not this node\'s, or NODE_OPTIONS set, starts the ESM bundle', async () => {
    const copy = join(root.path, 'copy');
    mkdirSync(copy);
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
    // node_modules is not needed: the bundles hold their dependencies.
    const moved = await launch(join(copy, 'bin', 'packuilon'), ['detect'], { cwd: work, env: { ...gitEnv, LOG_LEVEL: 'silent' } });
    assert.equal(moved.from, 'esm', moved.stderr);
    assert.equal(moved.code, 0, moved.stderr);
    const identity = join(copy, 'dist', 'snapshot', 'identity');
    writeFileSync(identity, readFileSync(join(ROOT, 'dist', 'snapshot', 'identity'), 'utf8').replace(/^\d+/, '1').replace(ROOT.replace(/\/$/, ''), copy));
    const otherNode = await launch(join(copy, 'bin', 'packuilon'), ['detect'], { cwd: work, env: { ...gitEnv, LOG_LEVEL: 'silent' } });
    assert.equal(otherNode.from, 'esm', otherNode.stderr);
    assert.equal(otherNode.code, 0, otherNode.stderr);
    // V8 flags the snapshot was not made with would make node refuse it (exit 14).
    const flagged = await launch(launcher, ['detect'], { cwd: work, env: { ...gitEnv, LOG_LEVEL: 'silent', NODE_OPTIONS: '--max-old-space-size=512' } });
    assert.equal(flagged.from, 'esm', flagged.stderr);
    assert.equal(flagged.code, 0, flagged.stderr);
  });
});
