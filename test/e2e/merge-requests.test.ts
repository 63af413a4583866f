import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeProfiles, writeSite, type ProfileFields } from '../support/site.js';
import { runCli } from '../support/cli.js';
import { startFakeGitlab, type FakeGitlab } from '../support/fake-gitlab.js';
import { startFakeGithub, type FakeGithub } from '../support/fake-github.js';

const TOKEN = 'glpat-e2e-secret';
const KEY = 'nubesvms-sl7x-x86_64';
const BRANCH = `packuilon/${KEY}`;

/** A site whose main already holds the image from profile v1 (rendered in direct mode), then switched to merge-request mode. */
async function siteOnForge(root: string, forge: { type: 'gitlab' | 'github'; url: string }) {
  const { work, remote } = repoWithRemote(root);
  const profiles = join(root, 'profiles');
  const file = writeSite(work, { profilesDir: profiles, stateDir: join(root, 'state'), remote: true });
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'site');
  git(work, 'push', '--quiet', 'origin', 'main');
  let mtime = 100;
  const publish = (set: Record<string, ProfileFields>) =>
    writeProfiles(profiles, Object.fromEntries(Object.entries(set).map(([name, fields]) => [name, { text: profileText(fields), mtime: mtime++ }])));
  publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel: '3.10' } } });
  const env = { ...gitEnv, GITLAB_TOKEN: TOKEN, GITHUB_TOKEN: TOKEN };
  const first = await runCli(['detect'], { cwd: work, env });
  assert.equal(first.code, 0, first.stderr);
  const config = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  config.repo!.mode = 'merge-request';
  config.forge = { type: forge.type, url: forge.url, project: 'cloud/images', labels: ['packuilon'] };
  writeFileSync(file, stringify(config));
  const detect = (...args: string[]) => runCli(['detect', ...args], { cwd: work, env });
  return { work, remote, publish, detect, env };
}

describe('merge-request mode on GitLab (fake GitLab API under a path prefix, real git remote)', () => {
  const root = tempDir();
  let gitlab: FakeGitlab;
  let site: Awaited<ReturnType<typeof siteOnForge>>;
  const openOf = () => gitlab.mergeRequests.filter((mr) => mr.state === 'opened');

  before(async () => {
    gitlab = await startFakeGitlab({ token: TOKEN, project: 'cloud/images', prefix: '/gitlab', bareRepo: join(root.path, 'remote.git') });
    site = await siteOnForge(root.path, { type: 'gitlab', url: gitlab.instanceUrl });
  });
  after(async () => {
    await gitlab.close();
    root.remove();
  });

  it('a change opens one request on its own branch; main does not move', async () => {
    const mainBefore = git(site.remote, 'rev-parse', 'main');
    site.publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel: '5.14' } } });
    const result = await site.detect();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /requests: 1 opened, 0 updated, 0 closed/);
    assert.equal(git(site.remote, 'rev-parse', 'main'), mainBefore);
    assert.equal(git(site.remote, 'rev-parse', `${BRANCH}^`), mainBefore, 'one commit on top of main');
    const [mr] = openOf();
    assert.ok(mr);
    assert.equal(mr.source_branch, BRANCH);
    assert.equal(mr.target_branch, 'main');
    assert.match(mr.title, /^images\(nubesvms-sl7x-x86_64\): rebuild for a\.example\.org\.json/);
    assert.deepEqual(mr.labels, ['packuilon']);
    assert.match(mr.description, /<!-- packuilon:image-key=nubesvms-sl7x-x86_64 -->/);
    assert.match(mr.description, /`a\.example\.org\.json`: `sha256:[0-9a-f]{12}…` → `sha256:/);
    // main's profile was rendered in direct mode, before any copy was kept.
    assert.match(mr.description, /no copy of the version `main` records was kept/);
    assert.match(mr.description, /- `managed\.json`/);
  });

  it('three more changes update the same request; the description shows the changed fields', async () => {
    const iid = openOf()[0]!.iid;
    for (const kernel of ['5.15', '6.1', '6.6']) {
      site.publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel } } });
      const result = await site.detect();
      assert.equal(result.code, 0, result.stderr);
    }
    assert.equal(openOf().length, 1);
    assert.equal(openOf()[0]!.iid, iid);
    assert.equal(git(site.remote, 'rev-list', '--count', `main..${BRANCH}`), '1', 'force-pushed: still one commit on main');
    // The request shows what changed against main's profile; main's copy was never kept (direct mode), the newer ones were.
    assert.match(openOf()[0]!.description, /no copy of the version `main` records was kept/);
    const creates = gitlab.calls.filter((call) => call.method === 'POST' && call.path.endsWith('/merge_requests'));
    assert.equal(creates.length, 1);
  });

  it('a run with nothing changed makes no forge call beyond the listing', async () => {
    const before = gitlab.calls.length;
    const result = await site.detect();
    assert.equal(result.code, 0, result.stderr);
    const calls = gitlab.calls.slice(before);
    assert.deepEqual([...new Set(calls.map((call) => call.method))], ['GET']);
  });

  it('a branch whose request went missing gets one, though no profile changed', async () => {
    openOf()[0]!.state = 'closed'; // closed by someone on the forge
    const result = await site.detect();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /requests: 1 opened/);
    assert.equal(openOf().length, 1);
  });

  it('429 then success: the request is still opened; 403: exit 1 naming the permission, the branch kept, the next run opens it', async () => {
    site.publish({ 'b.example.org.json': { hostname: 'b', personality: 'web' } });
    gitlab.failNext('POST', /\/merge_requests$/, { status: 403, body: { message: '403 Forbidden' } });
    const refused = await site.detect();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /gitlab cloud\/images: open merge request: HTTP 403 .*Developer role on cloud\/images/);
    assert.ok(!refused.stderr.includes(TOKEN));
    assert.notEqual(git(site.remote, 'branch', '--list', 'packuilon/web-sl7x-x86_64'), '', 'the branch was pushed before the request');
    gitlab.failNext('POST', /\/merge_requests$/, { status: 429, headers: { 'retry-after': '0' }, body: { message: '429 Too Many Requests' } });
    const retried = await site.detect();
    assert.equal(retried.code, 0, retried.stderr);
    assert.deepEqual(openOf().map((mr) => mr.source_branch).sort(), [BRANCH, 'packuilon/web-sl7x-x86_64']);
  });

  it('a hostile profile value is shown inside code, never as Markdown or HTML', async () => {
    // Land the web image on main as a reviewer would (merge its request), then change b's profile.
    const webBranch = 'packuilon/web-sl7x-x86_64';
    git(site.work, 'fetch', '--quiet', 'origin');
    git(site.work, 'merge', '--quiet', '--ff-only', `origin/${webBranch}`);
    git(site.work, 'push', '--quiet', 'origin', 'main');
    openOf().find((candidate) => candidate.source_branch === webBranch)!.state = 'merged';
    site.publish({ 'b.example.org.json': { hostname: 'b', personality: 'web', extra: { motd: '<script>alert(1)</script> ``` **bold** [x](http://evil) | <!-- -->' } } });
    const result = await site.detect();
    assert.equal(result.code, 0, result.stderr);
    const mr = openOf().find((candidate) => candidate.source_branch === webBranch)!;
    assert.ok(mr, 'a new request for the merged image');
    const line = mr.description.split('\n').find((text) => text.includes('system.extra.motd'));
    assert.ok(line, mr.description);
    assert.match(line, /: \(absent\) → (`{4,}) ?"<script>alert\(1\)<\/script> ``` \*\*bold\*\*.* ?\1$/);
    assert.ok(!mr.description.split('\n').some((text) => text.startsWith('<') && !text.startsWith('<!-- packuilon:')));
  });

  it('a commit made by hand on the branch: the tool comments once and never pushes there again', async () => {
    const clone = join(root.path, 'human');
    git(root.path, 'clone', '--quiet', '--branch', BRANCH, site.remote, clone);
    writeFileSync(join(clone, 'images', KEY, 'NOTES.md'), 'tuned by hand\n');
    git(clone, 'add', '-A');
    git(clone, 'commit', '--quiet', '-m', 'tune by hand');
    git(clone, 'push', '--quiet', 'origin', BRANCH);
    const humanTip = git(site.remote, 'rev-parse', BRANCH);
    for (const kernel of ['7.0', '7.1']) {
      site.publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel } } });
      const result = await site.detect();
      assert.equal(result.code, 0, result.stderr);
    }
    assert.equal(git(site.remote, 'rev-parse', BRANCH), humanTip);
    const mr = openOf().find((candidate) => candidate.source_branch === BRANCH)!;
    assert.equal(mr.notes.filter((note) => note.includes('made by hand')).length, 1);
    assert.match(mr.description, /no longer updates this branch/);
  });

  it('the profile back to what main records: the request is closed with a comment and its branch deleted', async () => {
    const webBranch = 'packuilon/web-sl7x-x86_64';
    const mr = openOf().find((candidate) => candidate.source_branch === webBranch)!;
    site.publish({ 'b.example.org.json': { hostname: 'b', personality: 'web' } });
    const result = await site.detect();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /1 closed/);
    assert.equal(mr.state, 'closed');
    assert.match(mr.notes.at(-1) ?? '', /equals main again/);
    assert.equal(git(site.remote, 'branch', '--list', webBranch), '');
  });

  it('`requests` lists the open requests with their pipeline state', async () => {
    const open = openOf()[0]!;
    open.head_pipeline = { id: 1, status: 'running' };
    const text = await runCli(['requests'], { cwd: site.work, env: site.env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${KEY}  \\d+h  pipeline running  http`));
    const json = await runCli(['requests', '--json'], { cwd: site.work, env: site.env });
    const rows = JSON.parse(json.stdout) as { key: string; pipeline: string }[];
    assert.deepEqual(rows.map((row) => row.key), [KEY]);
  });

  it('rerender after a template change: a request for each image it changes, titled with the changed file', async () => {
    const template = join(site.work, 'templates', 'managed.json');
    writeFileSync(template, readFileSync(template, 'utf8').replace('echo building', 'echo now building'));
    git(site.work, 'commit', '--quiet', '-am', 'template: louder build');
    git(site.work, 'push', '--quiet', 'origin', 'main');
    const humanTip = git(site.remote, 'rev-parse', BRANCH);
    const result = await runCli(['rerender'], { cwd: site.work, env: site.env });
    assert.equal(result.code, 0, result.stderr);
    const mr = openOf().find((candidate) => candidate.source_branch === 'packuilon/web-sl7x-x86_64');
    assert.ok(mr, 'the web image, merged before, gets a request for its re-render');
    assert.equal(mr.title, 'images(web-sl7x-x86_64): re-rendered: templates/managed.json changed');
    assert.match(mr.description, /Trigger: `rerender`/);
    assert.equal(git(site.remote, 'rev-parse', BRANCH), humanTip, 'the branch a person committed on is still left alone');
    assert.equal(git(site.remote, 'log', '-1', '--format=%s', 'main'), 'template: louder build', 'main itself does not move');
  });

  it('without the token the run is a config error before any download (exit 2)', async () => {
    const result = await runCli(['detect'], { cwd: site.work, env: { ...gitEnv } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /\$GITLAB_TOKEN is not set/);
  });
});

describe('merge-request mode on GitHub (fake GitHub Enterprise API, real git remote)', () => {
  const root = tempDir();
  let github: FakeGithub;
  let site: Awaited<ReturnType<typeof siteOnForge>>;

  before(async () => {
    github = await startFakeGithub({ token: TOKEN, repository: 'cloud/images', prefix: '/api/v3', bareRepo: join(root.path, 'remote.git') });
    site = await siteOnForge(root.path, { type: 'github', url: github.apiUrl });
  });
  after(async () => {
    await github.close();
    root.remove();
  });

  it('opens, updates in place, shows the changed fields once main has a kept copy, and closes when the render equals main again', async () => {
    site.publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel: '5.14' } } });
    assert.equal((await site.detect()).code, 0);
    site.publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel: '6.1' } } });
    assert.equal((await site.detect()).code, 0);
    const open = () => github.pulls.filter((pull) => pull.state === 'open');
    assert.equal(open().length, 1);
    assert.equal(open()[0]!.head.ref, BRANCH);
    assert.deepEqual(open()[0]!.labels.map((label) => label.name), ['packuilon']);
    assert.match(open()[0]!.body ?? '', /no copy of the version `main` records was kept/);
    // Merged by a reviewer: main now records 6.1, whose copy the run kept.
    git(site.work, 'fetch', '--quiet', 'origin');
    git(site.work, 'merge', '--quiet', '--ff-only', `origin/${BRANCH}`);
    git(site.work, 'push', '--quiet', 'origin', 'main');
    open()[0]!.state = 'closed';
    site.publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel: '6.6' } } });
    assert.equal((await site.detect()).code, 0);
    const second = open()[0]!;
    assert.match(second.body ?? '', /`system\.extra\.kernel`: `"6\.1"` → `"6\.6"`/);
    site.publish({ 'a.example.org.json': { hostname: 'a', extra: { kernel: '6.1' } } });
    const result = await site.detect();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(second.state, 'closed');
    assert.match(second.comments.at(-1) ?? '', /equals main again/);
    assert.equal(git(site.remote, 'branch', '--list', BRANCH), '');
  });
});
