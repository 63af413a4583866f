import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify, parse } from 'yaml';
import { sharedRabbit } from '../support/rabbit.js';
import { cloneOf, git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { LEGACY_TEMPLATE, profileText, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

describe('consume re-renders by itself when templates moved (real RabbitMQ, real git)', () => {
  const root = tempDir();
  const profiles = join(root.path, 'profiles');
  const queue = `rerender-${randomUUID().slice(0, 8)}`;
  let broker: Awaited<ReturnType<typeof sharedRabbit>>;
  let work: string;
  let remote: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    broker = await sharedRabbit();
    ({ work, remote } = repoWithRemote(root.path));
    const file = writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state'), remote: true });
    writeFileSync(file, stringify({ ...parse(readFileSync(file, 'utf8')), trigger: 'queue', queue: { name: queue } }));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
    env = { ...gitEnv, PACKUILON_QUEUE_URL: broker.url };
  });
  after(async () => {
    await broker.release();
    root.remove();
  });

  const subjects = () => git(remote, 'log', '--format=%s', 'main').split('\n');
  const run = async (...args: string[]) => {
    const result = await runCli(args, { cwd: work, env });
    assert.equal(result.code, 0, result.stderr);
    return result;
  };

  it('the first batch after a pushed template change re-renders the images, then commits its profiles', async () => {
    writeProfiles(profiles, { 'a.json': { text: profileText({ hostname: 'a' }), mtime: 1 }, 'b.json': { text: profileText({ hostname: 'b', personality: 'web' }), mtime: 1 } });
    await run('detect');
    await run('consume', '--max-messages', '2');
    assert.equal(subjects().length, 4);
    const human = cloneOf(remote, join(root.path, 'human'));
    writeFileSync(join(human, 'templates', 'managed.json'), LEGACY_TEMPLATE.replace('"meta": "x"', '"meta": "queue"'));
    git(human, 'commit', '--quiet', '-am', 'managed.json: new meta');
    git(human, 'push', '--quiet', 'origin', 'main');
    writeProfiles(profiles, { 'a.json': { text: profileText({ hostname: 'a' }), mtime: 1 }, 'b.json': { text: profileText({ hostname: 'b', personality: 'web', extra: 1 }), mtime: 2 } });
    await run('detect');
    const consumed = await run('consume', '--max-messages', '1');
    assert.match(consumed.stdout, /1 acked/);
    const added = subjects().slice(0, 3);
    assert.equal(added[0], 'images(web-sl7x-x86_64): rebuild for b.json');
    assert.deepEqual(added.slice(1).sort(), ['images(nubesvms-sl7x-x86_64): re-rendered: templates/managed.json changed', 'images(web-sl7x-x86_64): re-rendered: templates/managed.json changed']);
    assert.equal(subjects().length, 8, "4 before, the human commit, 2 re-renders, 1 rebuild");
    assert.match(git(remote, 'log', '-1', '--format=%B', '--grep=re-rendered', 'main'), /Trigger: rerender\nPackuilon-Version: /);
    assert.equal(JSON.parse(git(remote, 'show', 'main:images/nubesvms-sl7x-x86_64/managed.json'))['post-processors'][0].custom_data.meta, 'queue');
    // The next batch: nothing moved, no re-render.
    writeProfiles(profiles, { 'a.json': { text: profileText({ hostname: 'a', extra: 2 }), mtime: 3 }, 'b.json': { text: profileText({ hostname: 'b', personality: 'web', extra: 1 }), mtime: 2 } });
    await run('detect');
    await run('consume', '--max-messages', '1');
    assert.deepEqual(subjects().slice(0, 2), ['images(nubesvms-sl7x-x86_64): rebuild for a.json', 'images(web-sl7x-x86_64): rebuild for b.json']);
  });
});
