// The whole chain on real components: Aquilon site (HTTP) → detect → RabbitMQ → consume →
// commit + push to a bare remote → the repo's .gitlab-ci.yml under gitlab-ci-local →
// plan → child pipeline → build (local Packer) [→ upload → Rally test → promote → record].
// Shared Keystone + Glance and RabbitMQ come from scripts/test.sh (test/support/*.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { runCli } from '../support/cli.js';
import { join } from 'node:path';
import { parse } from 'yaml';
import { tempDir, git } from '../support/git-repos.js';
import { CHAIN_KEY, CHAIN_PROFILE, FAILING_TASK, ROCKY_KEY, ROCKY_PROFILE, ROCKY_TEMPLATE, chainHistory, glanceAs, openChainSuite, runChain, runPipeline, seedPreviousImage, type Chain, type ChainRun, type ChainServices, type ChainSuite } from '../support/chain.js';
import { ensureFreshBundle } from '../support/bundle.js';


describe('the chain: profile change → detect → RabbitMQ → consume → push → gitlab-ci-local → plan → build → test → promote → record', () => {
  const root = tempDir('packuilon-chain-');
  let suite: ChainSuite | undefined;
  let services: ChainServices;
  let chain: Chain;
  let run: ChainRun;
  let previous = '';

  before(async () => {
    ensureFreshBundle();
    suite = await openChainSuite(root.path, `chain${process.pid}-`);
    ({ services, chain } = suite);
    previous = await seedPreviousImage(chain, services.openstack);
  });
  after(async () => {
    await suite?.close();
    root.remove();
  });

  it('one profile change builds exactly its image through the real pipeline', { timeout: 900_000 }, async () => {
    run = await runChain(chain, services, { label: 'first change' });
    const log = run.pipelineLog;
    assert.equal(run.pipelineCode, 0, log);
    // the commit consume pushed carries the profile's trailers
    const body = git(chain.remote, 'log', '-1', '--format=%B', run.commit);
    assert.match(body, new RegExp(`^Profile: ${CHAIN_PROFILE.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(body, /^Trigger: queue$/m);
    assert.match(log, new RegExp(`plan +> build +${CHAIN_KEY}`));
    const child = parse(readFileSync(join(chain.repo, 'out', 'child-pipeline.yml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(child).filter((k) => k.startsWith('build:')), [`build:${CHAIN_KEY}`], 'only the changed image builds');
    assert.equal(run.jobs[`[images] -> build:${CHAIN_KEY}`], 'PASS', log);
    assert.deepEqual(Object.entries(run.jobs).filter(([, v]) => v === 'FAIL'), [], log);
    const record = JSON.parse(readFileSync(join(chain.repo, 'out', CHAIN_KEY, 'build.json'), 'utf8')) as { commit: string | null; builds: { exit_code: number; image_id: string | null }[] };
    assert.ok(record.builds.length > 0 && record.builds.every((b) => b.exit_code === 0), JSON.stringify(record));
    const stages = run.timings.map((t) => t.stage);
    for (const expected of ['detect', 'queue + commit + push', 'pipeline start', 'plan', 'build']) assert.ok(stages.includes(expected), stages.join(', '));
  });

  it('test + promote: the previous image of the name is warehoused, tenant-b moves to the new one, the record lands', { timeout: 900_000 }, async () => {
    const admin = glanceAs(services.openstack, 'image-admin');
    const record = JSON.parse(readFileSync(join(chain.repo, 'out', CHAIN_KEY, 'build.json'), 'utf8')) as { builds: { image_id: string | null; image_name: string }[] };
    const ids = record.builds.map((b) => b.image_id);
    assert.ok(ids.every((id) => id && /^[0-9a-f-]{36}$/.test(id)), `the build uploaded to Glance: ${JSON.stringify(record)}`);
    assert.equal(run.jobs[`[images] -> test:${CHAIN_KEY}`], 'PASS', run.pipelineLog);
    assert.equal(run.jobs[`[images] -> promote:${CHAIN_KEY}`], 'PASS', run.pipelineLog);
    const found = await admin.list({ packuilon_commit: run.commit });
    assert.deepEqual(found.map((i) => i.id).sort(), [...ids].sort() as string[]);
    const current = await admin.get(ids[0]!);
    assert.equal(current.name, chain.imageName);
    assert.deepEqual((await admin.members(current.id)).map((m) => [m.member_id, m.status]), [[services.openstack.projects['tenant-b'], 'accepted']]);
    const old = await admin.get(previous);
    assert.match(old.name ?? '', new RegExp(`^warehoused-${chain.imageName}-\\d\\d-\\d\\d-\\d{4}-`));
    assert.equal(old.status, 'deactivated');
    const history = JSON.stringify(await chainHistory(chain));
    for (const needle of [run.commit, CHAIN_PROFILE, '"build"', '"promote"', ...(ids as string[])]) assert.ok(history.includes(needle), `${needle} in ${history}`);
  });

  it('the image test fails: the new image becomes broken-… and private; the current image and its members are untouched', { timeout: 900_000 }, async () => {
    const admin = glanceAs(services.openstack, 'image-admin');
    const promoted = JSON.parse(readFileSync(join(chain.repo, 'out', CHAIN_KEY, 'build.json'), 'utf8')) as { builds: { image_id: string }[] };
    const current = promoted.builds[0]!.image_id;
    // this image's own Rally task (templates/rally/<key>.yaml wins over rally.task), failing its SLA
    writeFileSync(join(chain.repo, 'templates', 'rally', `${CHAIN_KEY}.yaml`), FAILING_TASK);
    git(chain.repo, 'add', '-A');
    git(chain.repo, 'commit', '--quiet', '-m', `rally: ${CHAIN_KEY} must answer in 0.1 s`);
    git(chain.repo, 'push', '--quiet', 'origin', 'main');

    const failed = await runChain(chain, services, { label: 'a change the test fails' });
    const log = failed.pipelineLog;
    // gitlab-ci-local names a failed child job without its pipeline, and (unlike GitLab's
    // strategy: depend) passes the trigger job and exits 0: `ci local` reads the job results itself
    assert.equal(failed.jobs[`[images] -> build:${CHAIN_KEY}`], 'PASS', log);
    assert.equal(failed.jobs[`[images] -> test:${CHAIN_KEY}`] ?? failed.jobs[`test:${CHAIN_KEY}`], 'FAIL', log);
    assert.equal(failed.jobs[`[images] -> reject:${CHAIN_KEY}`], 'PASS', log);
    assert.equal(failed.jobs[`[images] -> promote:${CHAIN_KEY}`], undefined, log);
    const record = JSON.parse(readFileSync(join(chain.repo, 'out', CHAIN_KEY, 'build.json'), 'utf8')) as { builds: { image_id: string }[] };
    const candidate = await admin.get(record.builds[0]!.image_id);
    assert.notEqual(candidate.id, current);
    assert.match(candidate.name ?? '', new RegExp(`^broken-${chain.imageName}-`));
    assert.equal(candidate.visibility, 'private', 'private: Glance lists no members of a private image, so no other project sees it');
    const still = await admin.get(current);
    assert.equal(still.name, chain.imageName);
    assert.equal(still.status, 'active');
    assert.deepEqual((await admin.members(current)).map((m) => [m.member_id, m.status]), [[services.openstack.projects['tenant-b'], 'accepted']]);
    const history = JSON.stringify(await chainHistory(chain));
    for (const needle of [failed.commit, candidate.id, 'reject']) assert.ok(history.includes(needle), `${needle} in ${history}`);

    git(chain.repo, 'rm', '--quiet', `templates/rally/${CHAIN_KEY}.yaml`);
    git(chain.repo, 'commit', '--quiet', '-m', `rally: ${CHAIN_KEY} back on the site's task`);
    git(chain.repo, 'push', '--quiet', 'origin', 'main');
  });

  it('a template change: rerender commits only the image that uses it, and only that image builds', { timeout: 900_000 }, async () => {
    // a second image, by a change of its profile, through the chain like the first
    const second = await runChain(chain, services, { profile: ROCKY_PROFILE, label: 'second image' });
    assert.equal(second.jobs[`[images] -> build:${ROCKY_KEY}`], 'PASS', second.pipelineLog);
    assert.ok(existsSync(join(chain.repo, 'images', CHAIN_KEY)) && existsSync(join(chain.repo, 'images', ROCKY_KEY)));

    const before_ = git(chain.repo, 'rev-parse', 'HEAD');
    const file = join(chain.repo, ROCKY_TEMPLATE);
    const template = JSON.parse(readFileSync(file, 'utf8')) as { variables: Record<string, string> };
    writeFileSync(file, `${JSON.stringify({ ...template, variables: { ...template.variables, template_fix: 'one' } }, null, 2)}\n`);
    git(chain.repo, 'commit', '--quiet', '-am', 'templates: fix the rocky template');
    git(chain.repo, 'push', '--quiet', 'origin', 'main');
    const rerender = await runCli(['rerender', '--json'], { cwd: chain.repo, env: chain.env });
    assert.equal(rerender.code, 0, rerender.stderr);
    const subjects = git(chain.remote, 'log', '--format=%s', `${before_}..main`).split('\n');
    assert.equal(subjects.length, 2, subjects.join('\n'));
    assert.match(subjects[0]!, new RegExp(`^images\\(${ROCKY_KEY}\\): .*${ROCKY_TEMPLATE.replace(/[./]/g, '\\$&')}`));
    assert.match(git(chain.remote, 'log', '-1', '--format=%B', 'main'), /^Trigger: rerender$/m);
    git(chain.repo, 'fetch', '--quiet', 'origin');
    git(chain.repo, 'reset', '--quiet', '--hard', 'origin/main');

    const pipeline = await runPipeline(chain, services, before_, {});
    assert.equal(pipeline.pipelineCode, 0, pipeline.pipelineLog);
    const child = parse(readFileSync(join(chain.repo, 'out', 'child-pipeline.yml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(child).filter((k) => k.startsWith('build:')), [`build:${ROCKY_KEY}`], 'the image on the other template is not rebuilt');
    assert.equal(pipeline.jobs[`[images] -> build:${ROCKY_KEY}`], 'PASS', pipeline.pipelineLog);
    assert.match(pipeline.pipelineLog, /re-rendered: templates\/local-rocky\.json changed/);
  });
});
