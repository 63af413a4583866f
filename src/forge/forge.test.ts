import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeGitlab, type FakeGitlab } from '../../test/support/fake-gitlab.js';
import { startFakeGithub, type FakeGithub } from '../../test/support/fake-github.js';
import { git, repoWithRemote, tempDir } from '../../test/support/git-repos.js';
import { silentLogger } from '../shared/log.js';
import { ConfigError } from '../shared/errors.js';
import { branchOf, createForge, ForgeError, withMarker, type Forge } from './index.js';

const TOKEN = 'glpat-s3cret-token-value';
const fast = { backoffMs: 1, retries: 3 };

interface Case {
  name: 'gitlab' | 'github';
  start(bareRepo: string): Promise<{ forge: Forge; server: FakeGitlab | FakeGithub; url: string }>;
}

const settings = { labels: ['packuilon', 'images'], assignees: ['alice'], reviewers: ['bob'], auto_merge: true };

const cases: Case[] = [
  {
    name: 'gitlab',
    async start(bareRepo) {
      const server = await startFakeGitlab({ token: TOKEN, project: 'cloud/images', prefix: '/gitlab', bareRepo, perPageDefault: 2 });
      const forge = createForge({ type: 'gitlab', url: server.instanceUrl, project: 'cloud/images', ...settings }, { GITLAB_TOKEN: TOKEN }, silentLogger(), fast);
      return { forge, server, url: server.instanceUrl };
    },
  },
  {
    name: 'github',
    async start(bareRepo) {
      const server = await startFakeGithub({ token: TOKEN, repository: 'cloud/images', prefix: '/api/v3', bareRepo });
      const forge = createForge({ type: 'github', url: server.apiUrl, project: 'cloud/images', ...settings }, { GITHUB_TOKEN: TOKEN }, silentLogger(), fast);
      return { forge, server, url: server.apiUrl };
    },
  },
];

for (const forgeCase of cases) {
  describe(`forge adapter: ${forgeCase.name} (fake API on loopback, real bare repo)`, () => {
    const dir = tempDir();
    let forge: Forge;
    let server: FakeGitlab | FakeGithub;
    let remote: string;
    let work: string;

    before(async () => {
      ({ remote, work } = repoWithRemote(dir.path));
      for (const key of ['a-sl7x-x86_64', 'b-sl7x-x86_64', 'c-sl7x-x86_64']) {
        git(work, 'checkout', '--quiet', '-B', branchOf(key), 'main');
        git(work, 'commit', '--quiet', '--allow-empty', '-m', `images(${key}): x`);
        git(work, 'push', '--quiet', 'origin', branchOf(key));
      }
      ({ forge, server } = await forgeCase.start(remote));
      // 120 open requests of other people: the listing must page past them (100 a page at most).
      for (let n = 0; n < 120; n++) {
        const branch = `feature/${n}`;
        const at = new Date().toISOString();
        if ('mergeRequests' in server) {
          server.mergeRequests.push({ id: 5000 + n, iid: 500 + n, project_id: 42, title: `human ${n}`, description: 'by hand', state: 'opened', source_branch: branch, target_branch: 'main', labels: [], assignee_ids: [], reviewer_ids: [], web_url: `${server.instanceUrl}/cloud/images/-/merge_requests/${500 + n}`, created_at: at, updated_at: at, sha: null, merge_when_pipeline_succeeds: false, head_pipeline: null, notes: [] });
        } else {
          server.pulls.push({ number: 500 + n, node_id: `PR_h${n}`, state: 'open', title: `human ${n}`, body: null, html_url: `http://github.example/cloud/images/pull/${500 + n}`, created_at: at, updated_at: at, head: { ref: branch, sha: '1'.repeat(40), label: `cloud:${branch}` }, base: { ref: 'main' }, labels: [], assignees: [], requested_reviewers: [], auto_merge: null, comments: [] });
        }
      }
    });
    after(async () => {
      await server.close();
      dir.remove();
    });

    test('opens requests with labels, assignees, reviewers and auto-merge; lists only its own, across pages', async () => {
      for (const key of ['a-sl7x-x86_64', 'b-sl7x-x86_64', 'c-sl7x-x86_64']) {
        const opened = await forge.openRequest({ key, branch: branchOf(key), base: 'main', title: `images(${key}): profile changed`, body: withMarker(key, `Image **${key}**`) });
        assert.equal(opened.key, key);
        assert.equal(opened.branch, branchOf(key));
        assert.match(opened.url, /\/(merge_requests|pull)\/\d+$/);
      }
      // Someone else's request from a packuilon/ branch without our marker is not ours.
      git(work, 'checkout', '--quiet', '-B', 'packuilon/not-ours', 'main');
      git(work, 'commit', '--quiet', '--allow-empty', '-m', 'human');
      git(work, 'push', '--quiet', 'origin', 'packuilon/not-ours');
      await forge.openRequest({ key: 'not-ours', branch: 'packuilon/not-ours', base: 'main', title: 'human', body: 'no marker' }).catch(() => undefined);
      const open = await forge.listOpenRequests();
      assert.deepEqual(open.map((request) => request.key).sort(), ['a-sl7x-x86_64', 'b-sl7x-x86_64', 'c-sl7x-x86_64']);
      const pagesRead = server.calls.filter((call) => call.method === 'GET' && /\/(merge_requests|pulls)$/.test(call.path)).length;
      assert.ok(pagesRead >= 2, `followed the Link header over ${pagesRead} pages`);
      if ('mergeRequests' in server) {
        const mr = server.mergeRequests.find((candidate) => candidate.source_branch === branchOf('a-sl7x-x86_64'))!;
        assert.deepEqual(mr.labels, ['packuilon', 'images']);
        assert.deepEqual(mr.assignee_ids, [7]);
        assert.deepEqual(mr.reviewer_ids, [8]);
        assert.equal(mr.merge_when_pipeline_succeeds, true);
      } else {
        const pull = server.pulls.find((candidate) => candidate.head.ref === branchOf('a-sl7x-x86_64'))!;
        assert.deepEqual(pull.labels.map((label) => label.name), ['packuilon', 'images']);
        assert.deepEqual(pull.assignees.map((user) => user.login), ['alice']);
        assert.deepEqual(pull.requested_reviewers.map((user) => user.login), ['bob']);
        assert.deepEqual(pull.auto_merge, { merge_method: 'MERGE' });
      }
    });

    test('updates in place, comments, closes and deletes the branch in git', async () => {
      const [first] = (await forge.listOpenRequests()).filter((request) => request.key === 'a-sl7x-x86_64');
      assert.ok(first);
      await forge.updateRequest(first, { title: 'images(a-sl7x-x86_64): newer', body: withMarker(first.key, 'newer body') });
      const [updated] = (await forge.listOpenRequests()).filter((request) => request.key === 'a-sl7x-x86_64');
      assert.equal(updated?.title, 'images(a-sl7x-x86_64): newer');
      assert.equal(updated?.id, first.id);
      await forge.closeRequest(first, 'The render equals main again.');
      await forge.deleteBranch(first.branch);
      await forge.deleteBranch(first.branch); // already gone: converged, no error
      assert.ok(!(await forge.listOpenRequests()).some((request) => request.key === 'a-sl7x-x86_64'));
      assert.equal(git(remote, 'branch', '--list', branchOf('a-sl7x-x86_64')), '');
    });

    test('429 with Retry-After, then 502, then success: retried, nothing lost', async () => {
      const list = forgeCase.name === 'gitlab' ? /merge_requests$/ : /pulls$/;
      server.failNext('GET', list, { status: 429, headers: { 'retry-after': '0' }, body: { message: '429 Too Many Requests' } });
      server.failNext('GET', list, { status: 502, body: { message: 'Bad Gateway' } });
      const before = server.calls.length;
      const open = await forge.listOpenRequests();
      assert.equal(open.length, 2);
      assert.ok(server.calls.length - before >= 3);
    });

    test('401, 403 and 404 are one line naming the project, the URL and the permission; never the token', async () => {
      const create = forgeCase.name === 'gitlab' ? /merge_requests$/ : /pulls$/;
      const draft = { key: 'c-sl7x-x86_64', branch: branchOf('c-sl7x-x86_64'), base: 'main', title: 't', body: withMarker('c-sl7x-x86_64', 'b') };
      for (const [status, expected] of [
        [401, /refused/],
        [403, forgeCase.name === 'gitlab' ? /Developer role on cloud\/images/ : /pull-requests: write on cloud\/images/],
        [404, /cannot see it|has no access/],
      ] as const) {
        server.failNext('POST', create, { status, body: { message: `${status} refused` } });
        const error = await forge.openRequest(draft).then(
          () => assert.fail('expected a refusal'),
          (caught: unknown) => caught,
        );
        assert.ok(error instanceof ForgeError, String(error));
        assert.equal(error.status, status);
        assert.match(error.message, new RegExp(`^${forgeCase.name} cloud/images: open (merge|pull) request: HTTP ${status}`));
        assert.match(error.message, expected);
        assert.match(error.message, /http:\/\/127\.0\.0\.1:\d+\//);
        assert.ok(!error.message.includes('\n'));
        assert.ok(!error.message.includes(TOKEN));
      }
    });

    test('a wrong token is a 401 from the API itself', async () => {
      const env = forgeCase.name === 'gitlab' ? { GITLAB_TOKEN: 'bad-token-xyz' } : { GITHUB_TOKEN: 'bad-token-xyz' };
      const url = 'instanceUrl' in server ? server.instanceUrl : server.apiUrl;
      const wrong = createForge({ type: forgeCase.name, url, project: 'cloud/images', ...settings }, env, silentLogger(), fast);
      await assert.rejects(wrong.listOpenRequests(), (error: unknown) => error instanceof ForgeError && error.status === 401 && !error.message.includes('bad-token-xyz'));
    });
  });
}

test('forge settings are checked before any call: token variable, github project shape, URL', () => {
  const base = { labels: [], assignees: [], reviewers: [], auto_merge: false };
  assert.throws(() => createForge({ type: 'gitlab', url: 'http://127.0.0.1:1', project: 'x/y', ...base }, {}, silentLogger()), (error: unknown) => error instanceof ConfigError && /\$GITLAB_TOKEN is not set/.test(error.message));
  assert.throws(() => createForge({ type: 'github', project: 'x/y', ...base }, {}, silentLogger()), /\$GITHUB_TOKEN is not set/);
  assert.throws(() => createForge({ type: 'gitlab', url: 'http://127.0.0.1:1', project: 'x', token_env: 'MY_TOKEN', ...base }, {}, silentLogger()), /\$MY_TOKEN is not set/);
  assert.throws(() => createForge({ type: 'github', project: 'only-name', ...base }, { GITHUB_TOKEN: 't' }, silentLogger()), /forge.project: expected owner\/name/);
  assert.throws(() => createForge({ type: 'gitlab', project: 'x/y', ...base }, { GITLAB_TOKEN: 't' }, silentLogger()), /forge.url: not set/);
  assert.throws(() => createForge({ type: 'gitlab', url: 'not a url', project: 'x/y', ...base }, { GITLAB_TOKEN: 't' }, silentLogger()), /forge.url: not a URL/);
});
