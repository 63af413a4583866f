import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type ChannelModel } from 'amqplib';
import { parse, stringify } from 'yaml';
import { sharedRabbit } from '../support/rabbit.js';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';
import { startFakeGitlab, type FakeGitlab } from '../support/fake-gitlab.js';

const TOKEN = 'glpat-queue-secret';

describe('merge-request mode in queue mode: consume pushes the branch, then acks; the forge failing loses nothing', () => {
  const root = tempDir();
  const queue = `build-mr-${randomUUID().slice(0, 8)}`;
  let broker: Awaited<ReturnType<typeof sharedRabbit>>;
  let amqp: ChannelModel;
  let gitlab: FakeGitlab;
  let work: string;
  let remote: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    broker = await sharedRabbit();
    amqp = await connect(broker.url);
    ({ work, remote } = repoWithRemote(root.path));
    gitlab = await startFakeGitlab({ token: TOKEN, project: 'cloud/images', bareRepo: remote });
    const file = writeSite(work, { profilesDir: join(root.path, 'profiles'), stateDir: join(root.path, 'state'), remote: true });
    const config = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    writeFileSync(file, stringify({ ...config, trigger: 'queue', queue: { name: queue }, repo: { ...config.repo, mode: 'merge-request' }, forge: { type: 'gitlab', url: gitlab.instanceUrl, project: 'cloud/images' } }));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
    env = { ...gitEnv, PACKUILON_QUEUE_URL: broker.url, GITLAB_TOKEN: TOKEN };
  });
  after(async () => {
    await amqp.close();
    await broker.release();
    await gitlab.close();
    root.remove();
  });

  const depth = async () => {
    const channel = await amqp.createChannel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close();
    }
  };
  const publishAsSeed = async (body: string) => {
    const channel = await amqp.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    channel.sendToQueue(queue, Buffer.from(body), { deliveryMode: 2 });
    await channel.waitForConfirms();
    await channel.close();
  };

  it('a message becomes a request branch and a merge request; main does not move', async () => {
    const main = git(remote, 'rev-parse', 'main');
    await publishAsSeed(profileText({ hostname: 'a' }));
    const result = await runCli(['consume', '--max-messages', '1'], { cwd: work, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await depth(), 0);
    assert.equal(git(remote, 'rev-parse', 'main'), main);
    assert.equal(git(remote, 'rev-parse', 'packuilon/nubesvms-sl7x-x86_64^'), main);
    assert.equal(gitlab.mergeRequests.filter((mr) => mr.state === 'opened').length, 1);
  });

  it('with the forge answering 503 throughout, the batch is still acked (its branch is pushed); the next batch opens the request', async () => {
    // Six answers: the first try and the five retries (Retry-After: 0 keeps the test fast).
    gitlab.failNext('GET', /\/merge_requests$/, { status: 503, headers: { 'retry-after': '0' }, body: { message: '503 Service Unavailable' } }, 6);
    await publishAsSeed(profileText({ hostname: 'b', personality: 'web' }));
    const failed = await runCli(['consume', '--max-messages', '1'], { cwd: work, env: { ...env, LOG_LEVEL: 'error' } });
    assert.equal(failed.code, 0, failed.stderr);
    assert.equal(await depth(), 0, 'acked: the change is in git');
    assert.notEqual(git(remote, 'branch', '--list', 'packuilon/web-sl7x-x86_64'), '');
    await publishAsSeed(profileText({ hostname: 'a', extra: 'x' }));
    const next = await runCli(['consume', '--max-messages', '1'], { cwd: work, env });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(gitlab.mergeRequests.filter((mr) => mr.state === 'opened').map((mr) => mr.source_branch).sort(), ['packuilon/nubesvms-sl7x-x86_64', 'packuilon/web-sl7x-x86_64']);
  });
});
