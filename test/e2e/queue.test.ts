import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type ChannelModel } from 'amqplib';
import { stringify, parse } from 'yaml';
import { sharedRabbit } from '../support/rabbit.js';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

describe('queue mode end to end: detect → RabbitMQ → consume → commit → push', () => {
  const root = tempDir();
  const profiles = join(root.path, 'profiles');
  const queue = `build-${randomUUID().slice(0, 8)}`;
  let broker: Awaited<ReturnType<typeof sharedRabbit>>;
  let amqp: ChannelModel;
  let work: string;
  let remote: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    broker = await sharedRabbit();
    amqp = await connect(broker.url);
    ({ work, remote } = repoWithRemote(root.path));
    const file = writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state'), remote: true });
    const config = parse(readFileSync(file, 'utf8'));
    writeFileSync(file, stringify({ ...config, trigger: 'queue', queue: { name: queue, max_message_bytes: 200_000 } }));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
    env = { ...gitEnv, PACKUILON_QUEUE_URL: broker.url };
  });
  after(async () => {
    await amqp.close();
    await broker.release();
    root.remove();
  });

  const subjects = () => git(remote, 'log', '--format=%s', 'main').split('\n');
  const depth = async (name: string) => {
    const channel = await amqp.createChannel();
    try {
      return (await channel.checkQueue(name)).messageCount;
    } finally {
      await channel.close();
    }
  };
  /** consume --max-messages N, stopped after 60 s if fewer came: a failure that says so, never a hang. */
  const consume = (count: number, extra: string[] = []) => runCli(['consume', '--max-messages', String(count), ...extra], { cwd: work, env, stopAfterMs: 60_000 });
  /** A message as the seed's cdb2rabbit / packuilon.py sent it: body only, persistent. */
  const publishAsSeed = async (body: string) => {
    const channel = await amqp.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    channel.sendToQueue(queue, Buffer.from(body), { deliveryMode: 2 });
    await channel.waitForConfirms();
    await channel.close();
  };

  it('detect publishes the changed profiles with headers; state follows the confirms', async () => {
    writeProfiles(profiles, {
      'a.json': { text: profileText({ hostname: 'a' }), mtime: 1 },
      'b.json': { text: profileText({ hostname: 'b', personality: 'web' }), mtime: 1 },
    });
    const result = await runCli(['detect', '--json'], { cwd: work, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).published, 2);
    assert.equal(await depth(queue), 2);
    // detect publishes in download order, so either may come first. The message
    // is given back whatever the assertions say: held, it would leave the next
    // test's consume waiting for ever (the hang of docs/decisions.md).
    const channel = await amqp.createChannel();
    try {
      const message = await channel.get(queue, { noAck: false });
      assert.ok(message);
      try {
        const name = String(message.properties.headers?.['packuilon-profile']);
        assert.ok(name === 'a.json' || name === 'b.json', name);
        assert.equal(message.properties.contentType, 'application/json');
        assert.equal(message.properties.deliveryMode, 2);
        assert.match(String(message.properties.headers?.['packuilon-profile-digest']), /^sha256:[0-9a-f]{64}$/);
        assert.equal(message.content.toString(), name === 'a.json' ? profileText({ hostname: 'a' }) : profileText({ hostname: 'b', personality: 'web' }));
      } finally {
        channel.nack(message, false, true);
      }
    } finally {
      await channel.close();
    }
    const again = await runCli(['detect', '--json'], { cwd: work, env });
    assert.equal(JSON.parse(again.stdout).published, 0);
  });

  it('consume commits them with Trigger: queue and Message-Id, then acks', async () => {
    const result = await consume(2);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /2 received, 2 acked, 0 dead-lettered/);
    assert.equal(await depth(queue), 0);
    const body = git(remote, 'log', '-1', '--format=%B', '--grep=web-sl7x', 'main');
    assert.match(body, /Trigger: queue\nMessage-Id: b\.json@sha256:[0-9a-f]{64}/);
  });

  it("the seed's message for a profile detect already committed is named by its FQDN and commits nothing", async () => {
    const text = profileText({ hostname: 'fq01', domainname: 'cloud.example.org', personality: 'fqdn' });
    writeProfiles(profiles, { 'fq01.cloud.example.org.json': { text, mtime: 2 } });
    const detect = await runCli(['detect', '--json'], { cwd: work, env });
    assert.equal(JSON.parse(detect.stdout).published, 1, detect.stderr);
    assert.match((await consume(1)).stdout, /1 acked/);
    assert.ok(subjects().includes('images(fqdn-sl7x-x86_64): new image from fq01.cloud.example.org.json'), subjects().join('\n'));
    const before = subjects().length;
    await publishAsSeed(text); // cdb2rabbit, still running during a migration: the same bytes, body only
    const again = await consume(1);
    assert.match(again.stdout, /1 received, 1 acked, 0 dead-lettered, 0 requeued, 0 commits/);
    assert.equal(subjects().length, before);
    const manifest = JSON.parse(git(remote, 'show', 'main:images/fqdn-sl7x-x86_64/image.json')) as { profiles: Record<string, string> };
    assert.deepEqual(Object.keys(manifest.profiles), ['fq01.cloud.example.org.json']);
  });

  it('poison messages go to <queue>.dead with a reason; good ones in the same batch still commit', async () => {
    await publishAsSeed('this is not json');
    await publishAsSeed(JSON.stringify({ system: { personality: { name: 'web' } } }));
    await publishAsSeed(profileText({ hostname: 'c', os: 'centos', osVersion: '6x' }));
    await publishAsSeed(profileText({ hostname: 'big', extra: 'x'.repeat(300_000) }));
    await publishAsSeed(profileText({ hostname: 'seedhost', personality: 'seedpers' }));
    const result = await consume(5);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /5 received, 1 acked, 4 dead-lettered/);
    assert.ok(subjects().includes('images(seedpers-sl7x-x86_64): new image from seedhost.json'));
    const list = await runCli(['dlq', 'list', '--json'], { cwd: work, env });
    const letters = JSON.parse(list.stdout).letters as { reason: string }[];
    assert.equal(letters.length, 4);
    const reasons = letters.map((l) => l.reason).join('\n');
    assert.match(reasons, /not valid JSON/);
    assert.match(reasons, /system\.archetype: missing|metadata: missing/);
    assert.match(reasons, /no source image for centos6x-x86_64/);
    assert.match(reasons, /exceeds queue\.max_message_bytes/);
    assert.equal(await depth(`${queue}.dead`), 4);
  });

  it('a replayed letter is consumed again after the fix (here: a source image added)', async () => {
    const sources = join(work, 'images', 'source-images.json');
    writeFileSync(sources, JSON.stringify({ ...JSON.parse(readFileSync(sources, 'utf8')), 'centos6x-x86_64': 'aaaaaaaa-0000-4000-8000-000000000000' }));
    git(work, 'commit', '--quiet', '-am', 'add centos6x source image');
    git(work, 'push', '--quiet', 'origin', 'main');
    const replay = await runCli(['dlq', 'replay', '--profile', 'c.json'], { cwd: work, env });
    assert.match(replay.stdout, /1 moved back/);
    const result = await consume(1);
    assert.match(result.stdout, /1 acked/);
    assert.ok(subjects().includes('images(nubesvms-centos6x-x86_64): new image from c.json'));
  });

  it('a redelivered duplicate commits nothing; a revert A → B → A commits twice', async () => {
    const before = subjects().length;
    await publishAsSeed(profileText({ hostname: 'a' }));
    await consume(1);
    assert.equal(subjects().length, before);
    await publishAsSeed(profileText({ hostname: 'a', extra: 'B' }));
    await consume(1);
    await publishAsSeed(profileText({ hostname: 'a' }));
    await consume(1);
    assert.equal(subjects().length, before + 2);
  });

  it('in one batch the newest message of an image wins, in one commit', async () => {
    const before = subjects().length;
    for (const domain of ['d1', 'd2', 'd3']) await publishAsSeed(profileText({ hostname: 'z', personality: 'batch', domain }));
    await consume(3);
    assert.equal(subjects().length, before + 1);
    const manifest = JSON.parse(git(remote, 'show', 'main:images/batch-sl7x-x86_64/image.json'));
    assert.equal(manifest.metadata.AQ_DOMAIN, 'd3');
  });

  it('submit in queue mode publishes the seed skeleton profile', async () => {
    const result = await runCli(['submit', '--personality', 'skel', '--domain', 'prod'], { cwd: work, env });
    assert.equal(result.code, 0, result.stderr);
    const consumed = await consume(1);
    assert.match(consumed.stdout, /1 acked/);
    assert.ok(subjects().includes('images(skel-sl7x-x86_64): new image from submit-skel-sl7x-x86_64.json'));
  });

  it('broker down: detect exits 1, names the broker, records nothing', async () => {
    writeProfiles(profiles, { 'late.json': { text: profileText({ hostname: 'late' }), mtime: 9 } });
    const result = await runCli(['detect', '--json'], { cwd: work, env: { ...env, PACKUILON_QUEUE_URL: 'amqp://guest:secretpw@127.0.0.1:1/' } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /127\.0\.0\.1:1/);
    assert.doesNotMatch(result.stderr + result.stdout, /secretpw/);
    const retry = await runCli(['detect', '--json'], { cwd: work, env });
    assert.equal(JSON.parse(retry.stdout).published, 1);
  });

  it('consume serves Prometheus metrics and a health check while it runs', async () => {
    const port = await freePort();
    const running = consume(1, ['--metrics-port', String(port)]);
    let metrics = '';
    for (let tries = 0; tries < 100 && !metrics.includes('packuilon_broker_connected 1'); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
    }
    assert.match(metrics, /# TYPE packuilon_messages_received_total counter\npackuilon_messages_received_total \d+/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    await publishAsSeed(profileText({ hostname: 'metered', personality: 'metered' }));
    const result = await running;
    assert.equal(result.code, 0, result.stderr);
    // One message may still be waiting from the test before (late.json): max-messages stops after the first.
    assert.match(result.stdout, /\d received, 1 acked, 0 dead-lettered/);
  });
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}
