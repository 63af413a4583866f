import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { sha256 } from '../../src/shared/digest.js';
import { runCli } from '../support/cli.js';
import { startFakeGitlab, type FakeGitlab } from '../support/fake-gitlab.js';
import { git, gitEnv, tempDir } from '../support/git-repos.js';

const MANAGED = '{ "builders": [ { "type": "null", "communicator": "none", "name": "$NAME" } ] }\n';
const OTHER = '{ "builders": [ { "type": "null", "communicator": "none", "name": "other-$NAME" } ] }\n';
const ZERO = '0'.repeat(40);

interface ImageOptions {
  templates?: string[];
  sourceKey?: string;
  sourceImage?: string;
  subject: string;
  trailers?: string[];
  /** bytes that vary the build file */
  content?: string;
}

/** A repo laid out as detect writes it, with commits made by hand so each case controls its history. */
function site(repo: string) {
  mkdirSync(join(repo, 'templates'), { recursive: true });
  mkdirSync(join(repo, 'images'), { recursive: true });
  writeFileSync(join(repo, 'templates', 'managed.json'), MANAGED);
  writeFileSync(join(repo, 'templates', 'other.json'), OTHER);
  writeFileSync(join(repo, 'templates', 'template-map.json'), JSON.stringify({ DEFAULT: ['templates/managed.json'], 'c-sl7x-x86_64': ['templates/other.json'] }));
  writeFileSync(join(repo, 'images', 'source-images.json'), JSON.stringify({ 'sl7x-x86_64': 'img-sl7', 'rocky8x-x86_64': 'img-r8' }));
  writeFileSync(join(repo, 'packuilon.yaml'), 'repo: { path: . }\nimage_name: "{personality}-{os}{os_version}-{arch}"\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'site');
}

function writeImage(repo: string, key: string, options: ImageOptions): string {
  const dir = join(repo, 'images', key);
  mkdirSync(dir, { recursive: true });
  const templates = options.templates ?? ['templates/managed.json'];
  const entries = templates.map((template) => {
    const name = template.replace(/^.*\//, '').replace(/\.json$/, '');
    writeFileSync(join(dir, `${name}.json`), options.content ?? readFileSync(join(repo, template), 'utf8'));
    return { template, digest: sha256(readFileSync(join(repo, template), 'utf8')), files: [`${name}.json`] };
  });
  const manifest = {
    image_key: key,
    image_name: key,
    source_key: options.sourceKey ?? 'sl7x-x86_64',
    source_image: options.sourceImage ?? 'img-sl7',
    metadata: {},
    profiles: {},
    templates: entries,
    generator: 'packuilon test',
  };
  writeFileSync(join(dir, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  git(repo, 'add', '-A');
  return commit(repo, `images(${key}): ${options.subject}`, options.trailers ?? []);
}

function commit(repo: string, subject: string, trailers: string[] = []): string {
  git(repo, 'commit', '--quiet', '--allow-empty', '-m', trailers.length ? `${subject}\n\n${trailers.join('\n')}\n` : subject);
  return git(repo, 'rev-parse', 'HEAD');
}

const detectTrailers = (profile: string, digest: string) => [`Profile: ${profile}`, `Profile-Digest: ${digest}`, 'Trigger: detect'];

describe('ci plan on a real git history', () => {
  const root = tempDir();
  const repo = join(root.path, 'repo');
  const env = { ...gitEnv };
  const plan = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const result = await runCli(['ci', 'plan', '--json', ...args], { cwd: repo, env: { ...env, ...extraEnv } });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as { from: string | null; to: string; images: { key: string; action: string; reasons: string[] }[] };
  };
  const commits: Record<string, string> = {};
  const d1 = `sha256:${'1'.repeat(64)}`;
  const d2 = `sha256:${'2'.repeat(64)}`;

  before(() => {
    mkdirSync(repo);
    git(repo, 'init', '--quiet', '--initial-branch=main');
    site(repo);
    commits.site = git(repo, 'rev-parse', 'HEAD');
    writeImage(repo, 'a-sl7x-x86_64', { subject: 'new image from a.json', trailers: detectTrailers('a.json', d1) });
    writeImage(repo, 'b-sl7x-x86_64', { subject: 'new image from b.json', trailers: detectTrailers('b.json', d1) });
    writeImage(repo, 'c-sl7x-x86_64', { templates: ['templates/other.json'], subject: 'new image from c.json', trailers: detectTrailers('c.json', d1) });
    commits.images = writeImage(repo, 'r-rocky8x-x86_64', { sourceKey: 'rocky8x-x86_64', sourceImage: 'img-r8', subject: 'new image from r.json', trailers: detectTrailers('r.json', d1) });
  });
  after(() => root.remove());

  it('one image: the profile and its digest from the trailers', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    const head = writeImage(repo, 'a-sl7x-x86_64', { subject: 'rebuild for web01.json', content: '{"v": 2}\n', trailers: detectTrailers('web01.json', d2) });
    const result = await plan(['--from', before, '--to', head]);
    assert.deepEqual(result, { from: before, to: head, images: [{ key: 'a-sl7x-x86_64', action: 'build', reasons: [`profile web01.json changed (${d2})`] }] });
  });

  it('the text output lists reasons and names the chain', async () => {
    const result = await runCli(['ci', 'plan'], { cwd: repo, env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /1 to build, 0 stale, 0 deleted/);
    assert.match(result.stdout, /build {3}a-sl7x-x86_64\n {8}profile web01\.json changed/);
    assert.match(result.stdout, /chain per image: build → test → promote \(reject instead of promote when the test fails the image\)/);
  });

  it('a submitted image says so', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    writeImage(repo, 'b-sl7x-x86_64', { subject: 'rebuild for submit-b.json', content: '{"v": 3}\n', trailers: ['Profile: submit-b.json', `Profile-Digest: ${d2}`, 'Trigger: submit'] });
    const result = await plan(['--from', before]);
    assert.deepEqual(result.images, [{ key: 'b-sl7x-x86_64', action: 'build', reasons: ['submitted by hand (submit-b.json)'] }]);
  });

  it('a template change without the re-render: the images using it are stale, the others untouched', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'templates', 'managed.json'), MANAGED.replace('"none"', '"none", "x": 1'));
    git(repo, 'add', '-A');
    const head = commit(repo, 'templates: managed.json gets x');
    const result = await plan(['--from', before, '--to', head]);
    assert.deepEqual(result.images, [
      { key: 'a-sl7x-x86_64', action: 'stale', reasons: ['templates/managed.json changed'] },
      { key: 'b-sl7x-x86_64', action: 'stale', reasons: ['templates/managed.json changed'] },
      { key: 'r-rocky8x-x86_64', action: 'stale', reasons: ['templates/managed.json changed'] },
    ]);
    commits.templateBefore = before;
  });

  it('a re-render commit builds the re-rendered image; the one not re-rendered stays stale', async () => {
    writeImage(repo, 'a-sl7x-x86_64', { subject: 're-rendered: templates/managed.json changed', trailers: ['Trigger: rerender'] });
    const head = writeImage(repo, 'r-rocky8x-x86_64', { sourceKey: 'rocky8x-x86_64', sourceImage: 'img-r8', subject: 're-rendered: templates/managed.json changed', trailers: ['Trigger: rerender'] });
    const result = await plan(['--from', commits.templateBefore!, '--to', head]);
    assert.deepEqual(result.images, [
      { key: 'a-sl7x-x86_64', action: 'build', reasons: ['re-rendered: templates/managed.json changed'] },
      { key: 'b-sl7x-x86_64', action: 'stale', reasons: ['templates/managed.json changed'] },
      { key: 'r-rocky8x-x86_64', action: 'build', reasons: ['re-rendered: templates/managed.json changed'] },
    ]);
    writeImage(repo, 'b-sl7x-x86_64', { subject: 're-rendered: templates/managed.json changed', trailers: ['Trigger: rerender'] });
  });

  it('a source-image change makes only the images of that source key stale; image_name makes all of them stale', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'images', 'source-images.json'), JSON.stringify({ 'sl7x-x86_64': 'img-sl7', 'rocky8x-x86_64': 'img-r8-new' }));
    git(repo, 'add', '-A');
    const head = commit(repo, 'new rocky8 source image');
    assert.deepEqual((await plan(['--from', before, '--to', head])).images, [{ key: 'r-rocky8x-x86_64', action: 'stale', reasons: ['images/source-images.json changed'] }]);
    writeFileSync(join(repo, 'packuilon.yaml'), 'repo: { path: . }\nimage_name: "Next-{personality}-{os}{os_version}-{arch}"\n');
    git(repo, 'add', '-A');
    const renamed = commit(repo, 'image names get Next-');
    writeImage(repo, 'c-sl7x-x86_64', { templates: ['templates/other.json'], content: '{"renamed": 1}\n', subject: 're-rendered: image_name changed', trailers: ['Trigger: rerender'] });
    const result = await plan(['--from', head, '--to', git(repo, 'rev-parse', 'HEAD')]);
    assert.deepEqual(result.images.map((i) => [i.key, i.action]), [['a-sl7x-x86_64', 'stale'], ['b-sl7x-x86_64', 'stale'], ['c-sl7x-x86_64', 'build'], ['r-rocky8x-x86_64', 'stale']]);
    assert.deepEqual(result.images[0]!.reasons, ['image_name changed in packuilon.yaml']);
    assert.ok(renamed);
    // A config change that leaves image_name alone makes nothing stale.
    const quiet = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'packuilon.yaml'), 'repo: { path: ., branch: main }\nimage_name: "Next-{personality}-{os}{os_version}-{arch}"\n');
    git(repo, 'add', '-A');
    assert.deepEqual((await plan(['--from', quiet, '--to', commit(repo, 'config: branch')])).images, []);
  });

  it('a first push (all-zero before-SHA) plans every image', async () => {
    const head = git(repo, 'rev-parse', 'HEAD');
    const result = await plan([], { CI_COMMIT_BEFORE_SHA: ZERO, CI_COMMIT_SHA: head });
    assert.equal(result.from, null);
    assert.deepEqual(result.images.map((i) => i.key), ['a-sl7x-x86_64', 'b-sl7x-x86_64', 'c-sl7x-x86_64', 'r-rocky8x-x86_64']);
    // r's committed files predate the new source image: stale even on a first push, never built from.
    assert.deepEqual(result.images.map((i) => i.action), ['build', 'build', 'build', 'stale']);
    assert.ok(result.images[0]!.reasons.includes('re-rendered: templates/managed.json changed'));
  });

  it('a push range from CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    const head = writeImage(repo, 'c-sl7x-x86_64', { templates: ['templates/other.json'], content: '{"v": 9}\n', subject: 'rebuild for c.json', trailers: detectTrailers('c.json', d2) });
    const result = await plan([], { CI_COMMIT_BEFORE_SHA: before, CI_COMMIT_SHA: head });
    assert.deepEqual([result.from, result.to], [before, head]);
    assert.deepEqual(result.images, [{ key: 'c-sl7x-x86_64', action: 'build', reasons: [`profile c.json changed (${d2})`] }]);
  });

  it('a deleted image folder is listed as deleted, not built', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'rm', '--quiet', '-r', 'images/c-sl7x-x86_64');
    const head = commit(repo, 'images(c-sl7x-x86_64): retired');
    const result = await plan(['--from', before, '--to', head]);
    assert.deepEqual(result.images, [{ key: 'c-sl7x-x86_64', action: 'deleted', reasons: [`images/c-sl7x-x86_64/ removed in ${head.slice(0, 10)} (images(c-sl7x-x86_64): retired)`] }]);
    const child = join(root.path, 'child-deleted.yml');
    await runCli(['ci', 'plan', '--from', before, '--to', head, '--child-pipeline', child], { cwd: repo, env });
    const doc = parse(readFileSync(child, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc).filter((k) => k.includes(':')), []);
    assert.ok(doc['nothing-to-build']);
  });

  it('a merge request plans from its diff base, not from main\'s newer commits', async () => {
    const base = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '--quiet', '-b', 'packuilon/a');
    const head = writeImage(repo, 'a-sl7x-x86_64', { content: '{"mr": 1}\n', subject: 'rebuild for web02.json', trailers: detectTrailers('web02.json', d1) });
    git(repo, 'checkout', '--quiet', 'main');
    writeImage(repo, 'b-sl7x-x86_64', { content: '{"main": 1}\n', subject: 'rebuild for b.json', trailers: detectTrailers('b.json', d2) });
    const result = await plan([], { CI_MERGE_REQUEST_DIFF_BASE_SHA: base, CI_COMMIT_SHA: head, CI_COMMIT_BEFORE_SHA: ZERO });
    assert.deepEqual([result.from, result.to], [base, head]);
    assert.deepEqual(result.images, [{ key: 'a-sl7x-x86_64', action: 'build', reasons: [`profile web02.json changed (${d1})`] }]);
  });

  it('a range with no image change plans nothing and says so', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    writeFileSync(join(repo, 'README.md'), 'docs\n');
    git(repo, 'add', '-A');
    const head = commit(repo, 'docs');
    assert.deepEqual((await plan(['--from', before, '--to', head])).images, []);
    const text = await runCli(['ci', 'plan', '--from', before, '--to', head], { cwd: repo, env });
    assert.match(text.stdout, /no image changed in this range/);
  });

  it('hostile or unknown commits exit 2 naming them', async () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--from', 'HEAD; rm -rf /'], {}, /--from: "HEAD; rm -rf \/" is not a commit SHA/],
      [['--from', 'main'], {}, /--from: "main" is not a commit SHA/],
      [['--to', '-x'], {}, /--to: "-x" is not a commit SHA/],
      [['--from', 'deadbeefdeadbeef'], {}, /--from: no commit deadbeefdeadbeef in /],
      [[], { CI_COMMIT_BEFORE_SHA: '$(id)' }, /CI_COMMIT_BEFORE_SHA: "\$\(id\)" is not a commit SHA/],
      [[], { CI_COMMIT_BEFORE_SHA: 'abcdef1234567' }, /CI_COMMIT_BEFORE_SHA: no commit abcdef1234567 in .*GIT_DEPTH/],
    ];
    for (const [args, extra, pattern] of cases) {
      const result = await runCli(['ci', 'plan', ...args], { cwd: repo, env: { ...env, ...extra } });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });

  it('a folder that is no image key stops the plan with exit 2 naming it', async () => {
    const before = git(repo, 'rev-parse', 'HEAD');
    const bad = join(repo, 'images', 'x$(id)');
    mkdirSync(bad);
    writeFileSync(join(bad, 'managed.json'), '{}\n');
    git(repo, 'add', '-A');
    const head = commit(repo, 'hand-made');
    const result = await runCli(['ci', 'plan', '--from', before, '--to', head], { cwd: repo, env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /images\/x\$\(id\)\/: not an image key/);
    git(repo, 'reset', '--quiet', '--hard', before);
    rmSync(bad, { recursive: true, force: true });
  });
});

describe('ci plan sets the resource groups\' process mode through GitLab\'s API', () => {
  const root = tempDir();
  const repo = join(root.path, 'repo');
  let gitlab: FakeGitlab;
  let range: string[] = [];

  before(async () => {
    mkdirSync(repo);
    git(repo, 'init', '--quiet', '--initial-branch=main');
    site(repo);
    const from = git(repo, 'rev-parse', 'HEAD');
    writeImage(repo, 'a-sl7x-x86_64', { subject: 'new image from a.json', trailers: detectTrailers('a.json', 'sha256:1') });
    const to = writeImage(repo, 'new-sl7x-x86_64', { subject: 'new image from n.json', trailers: detectTrailers('n.json', 'sha256:1') });
    range = ['--from', from, '--to', to];
    gitlab = await startFakeGitlab({ token: 'glpat-secret', project: 'cloud/images', projectId: 42, resourceGroups: ['image-a-sl7x-x86_64'] });
  });
  after(async () => {
    await gitlab.close();
    root.remove();
  });

  const apiUrl = () => `${gitlab.instanceUrl}/api/v4`;
  const puts = () => gitlab.calls.filter((c) => c.path.includes('/resource_groups/')).map((c) => `${c.method} ${c.path} process_mode=${String((c.body as Record<string, unknown>).process_mode)}`);
  const ciEnv = (extra: NodeJS.ProcessEnv) => ({ ...gitEnv, CI_API_V4_URL: apiUrl(), CI_PROJECT_ID: '42', GITLAB_TOKEN: 'glpat-secret', ...extra });

  it('PUT /projects/:id/resource_groups/:key with process_mode=newest_ready_first; a group GitLab has not made yet (404) is a warning', async () => {
    gitlab.calls.length = 0;
    const result = await runCli(['ci', 'plan', ...range], { cwd: repo, env: ciEnv({}) });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(puts().sort(), [
      'PUT /api/v4/projects/42/resource_groups/image-a-sl7x-x86_64 process_mode=newest_ready_first',
      'PUT /api/v4/projects/42/resource_groups/image-new-sl7x-x86_64 process_mode=newest_ready_first',
    ]);
    assert.equal(gitlab.resourceGroups.get('image-a-sl7x-x86_64')!.process_mode, 'newest_ready_first');
    assert.match(result.stderr, /warning: resource group image-new-sl7x-x86_64: process mode not set: PUT .*: HTTP 404: 404 Not found/);
    assert.doesNotMatch(result.stderr, /glpat-secret/);
  });

  it('forge.project and forge.url stand in for the CI variables, with the path URL-encoded', async () => {
    // The group exists now: a pipeline has used it.
    gitlab.resourceGroups.set('image-new-sl7x-x86_64', { id: 1, process_mode: 'unordered' });
    writeFileSync(join(root.path, 'forge.yaml'), `repo: { path: ${repo} }\nforge: { type: gitlab, url: "${gitlab.instanceUrl}", project: cloud/images, token_env: MY_TOKEN }\n`);
    gitlab.calls.length = 0;
    const result = await runCli(['ci', 'plan', ...range, '--config', join(root.path, 'forge.yaml')], { cwd: repo, env: { ...gitEnv, MY_TOKEN: 'glpat-secret' } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.ok(gitlab.calls.every((c) => c.path.startsWith('/api/v4/projects/cloud%2Fimages/resource_groups/')));
    assert.equal(gitlab.calls.length, 2);
    assert.equal(gitlab.resourceGroups.get('image-new-sl7x-x86_64')!.process_mode, 'newest_ready_first');
  });

  it('401, 500 and an unreachable GitLab are warnings, never a failed plan', async () => {
    const bad = await runCli(['ci', 'plan', ...range, '--json'], { cwd: repo, env: ciEnv({ GITLAB_TOKEN: 'wrong' }) });
    assert.equal(bad.code, 0);
    assert.equal(JSON.parse(bad.stdout).images.length, 2);
    assert.match(bad.stderr, /HTTP 401: 401 Unauthorized/);
    gitlab.failNext('PUT', /\/resource_groups\//, { status: 500, body: { message: '500 Internal Server Error' } }, 2);
    const down = await runCli(['ci', 'plan', ...range], { cwd: repo, env: ciEnv({}) });
    assert.equal(down.code, 0);
    assert.equal(down.stderr.match(/HTTP 500: 500 Internal Server Error/g)?.length, 2);
    const gone = await runCli(['ci', 'plan', ...range], { cwd: repo, env: ciEnv({ CI_API_V4_URL: 'http://127.0.0.1:9/api/v4' }) });
    assert.equal(gone.code, 0);
    assert.match(gone.stderr, /process mode not set: PUT http:\/\/127\.0\.0\.1:9\/api\/v4\/projects\/42\/resource_groups\/image-a-sl7x-x86_64: fetch failed/);
  });

  it('no token: no call at all', async () => {
    gitlab.calls.length = 0;
    const result = await runCli(['ci', 'plan', ...range], { cwd: repo, env: ciEnv({ GITLAB_TOKEN: '' }) });
    assert.equal(result.code, 0);
    assert.equal(gitlab.calls.length, 0);
  });
});
