// The chain in merge-request mode, against the fake GitLab: consume pushes a request branch
// and opens a merge request; the merge request's pipeline (the real .gitlab-ci.yml under
// gitlab-ci-local) validates and plans but builds nothing; once merged, the default branch's
// pipeline builds the image and uploads it to Glance.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { tempDir, git } from '../support/git-repos.js';
import { runCli } from '../support/cli.js';
import { startFakeGitlab, type FakeGitlab } from '../support/fake-gitlab.js';
import { ensureFreshBundle } from '../support/bundle.js';
import { CHAIN_KEY, changeProfile, glanceAs, openChainSuite, runPipeline, type Chain, type ChainServices, type ChainSuite } from '../support/chain.js';

const TOKEN = 'glpat-chain-secret';
const BRANCH = `packuilon/${CHAIN_KEY}`;

describe('the chain in merge-request mode: nothing builds before the merge', () => {
  const root = tempDir('packuilon-chain-mr-');
  let suite: ChainSuite | undefined;
  let gitlab: FakeGitlab;
  let services: ChainServices;
  let chain: Chain;
  let mainBefore = '';
  let requestHead = '';

  before(async () => {
    ensureFreshBundle();
    suite = await openChainSuite(root.path, `chainmr${process.pid}-`);
    ({ services, chain } = suite);
    gitlab = await startFakeGitlab({ token: TOKEN, project: 'cloud/images', bareRepo: chain.remote });
    const file = join(chain.repo, 'packuilon.yaml');
    const config = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    writeFileSync(file, stringify({ ...config, repo: { ...config.repo, mode: 'merge-request' }, forge: { type: 'gitlab', url: gitlab.instanceUrl, project: 'cloud/images' } }));
    git(chain.repo, 'commit', '--quiet', '-am', 'merge-request mode');
    git(chain.repo, 'push', '--quiet', 'origin', 'main');
    chain.env = { ...chain.env, GITLAB_TOKEN: TOKEN };
  });
  after(async () => {
    await gitlab?.close();
    await suite?.close();
    root.remove();
  });

  it('a profile change becomes a request branch and a merge request; main does not move', { timeout: 300_000 }, async () => {
    mainBefore = git(chain.remote, 'rev-parse', 'main');
    changeProfile(chain, 'nubesvms-sl7x-x86-64.cloud.template.json', 'reviewed change');
    const detect = await runCli(['detect', '--json'], { cwd: chain.repo, env: chain.env });
    assert.equal(detect.code, 0, detect.stderr);
    const consume = await runCli(['consume', '--max-messages', '1'], { cwd: chain.repo, env: chain.env, stopAfterMs: 120_000 });
    assert.equal(consume.code, 0, consume.stderr);
    assert.equal(git(chain.remote, 'rev-parse', 'main'), mainBefore, 'main does not move before the review');
    requestHead = git(chain.remote, 'rev-parse', BRANCH);
    assert.equal(git(chain.remote, 'rev-parse', `${BRANCH}^`), mainBefore);
    const open = gitlab.mergeRequests.filter((mr) => mr.state === 'opened');
    assert.deepEqual(open.map((mr) => [mr.source_branch, mr.target_branch]), [[BRANCH, 'main']]);
  });

  it("the merge request's pipeline validates and plans, and builds nothing", { timeout: 600_000 }, async () => {
    git(chain.repo, 'fetch', '--quiet', 'origin');
    git(chain.repo, 'checkout', '--quiet', '-B', BRANCH, `origin/${BRANCH}`);
    const pipeline = await runPipeline(chain, services, mainBefore, {
      variables: { CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_DIFF_BASE_SHA: mainBefore, CI_MERGE_REQUEST_IID: String(gitlab.mergeRequests[0]!.iid) },
    });
    const log = pipeline.pipelineLog;
    assert.equal(pipeline.pipelineCode, 0, log);
    assert.equal(pipeline.jobs.validate, 'PASS', log);
    assert.equal(pipeline.jobs.plan, 'PASS', log);
    assert.deepEqual(Object.keys(pipeline.jobs).filter((job) => job.includes('build:') || job === 'images'), [], log);
    assert.match(log, new RegExp(`plan +> build +${CHAIN_KEY}`), 'the plan names what the merge would build');
    assert.deepEqual(await glanceAs(services.openstack, 'image-admin').list({ packuilon_commit: requestHead }), [], 'no image before the merge');
  });

  it('merged, the default branch builds the image and uploads it to Glance', { timeout: 900_000 }, async () => {
    // as GitLab's fast-forward merge does
    git(chain.remote, 'update-ref', 'refs/heads/main', requestHead, mainBefore);
    git(chain.repo, 'checkout', '--quiet', 'main');
    git(chain.repo, 'reset', '--quiet', '--hard', requestHead);
    const pipeline = await runPipeline(chain, services, mainBefore, {});
    const log = pipeline.pipelineLog;
    assert.equal(pipeline.jobs[`[images] -> build:${CHAIN_KEY}`], 'PASS', log);
    const found = await glanceAs(services.openstack, 'image-admin').list({ packuilon_commit: requestHead });
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.name, chain.imageName);
  });
});
