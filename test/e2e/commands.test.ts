import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, gitEnv, tempDir } from '../support/git-repos.js';
import { runCli } from '../support/cli.js';
import { profileText } from '../support/site.js';

const EXAMPLE = new URL('../../examples/site/profiles/', import.meta.url).pathname;
const CLI = new URL('../../src/cli/run.ts', import.meta.url).pathname;

describe('commands on a scaffolded image repo', () => {
  const root = tempDir();
  const repo = join(root.path, 'repo');
  const env = { ...gitEnv };
  const cli = (...args: string[]) => runCli(args, { cwd: repo, env });

  before(async () => {
    const init = await runCli(['init', repo, '--index-dir', EXAMPLE], { cwd: root.path, env });
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /git repository created on branch main/);
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'scaffold');
  });
  after(() => root.remove());

  it('render prints the build files and writes nothing', async () => {
    const result = await cli('render', join(EXAMPLE, 'nubesvms-sl7x-x86-64.cloud.template.json'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /==> images\/nubesvms-sl7x-x86_64\/unmanaged\.json <==/);
    assert.match(result.stdout, /==> images\/nubesvms-sl7x-x86_64\/image\.json <==/);
    assert.equal(git(repo, 'status', '--porcelain'), '');
  });

  it('render --out writes <key>/… that real Packer accepts', async () => {
    const out = join(root.path, 'out');
    for (const name of ['nubesvms-sl7x-x86-64.cloud.template.json', 'grid-worker-sl7x-x86-64.cloud.template.json']) {
      const result = await cli('render', join(EXAMPLE, name), '--out', out);
      assert.equal(result.code, 0, result.stderr);
    }
    for (const key of readdirSync(out)) {
      for (const file of readdirSync(join(out, key)).filter((f) => f !== 'image.json')) {
        // Packer resolves the templates' relative paths from the repo root, as CI will run it.
        const check = spawnSync('packer', ['validate', '-syntax-only', join(out, key, file)], { cwd: repo, encoding: 'utf8' });
        assert.equal(check.status, 0, `${key}/${file}: ${check.stdout}${check.stderr}`);
      }
    }
  });

  it('render of a bad profile exits 2 with the profile and the field', async () => {
    const bad = join(root.path, 'bad.json');
    writeFileSync(bad, profileText({ arch: 'x86_64; rm -rf /' }));
    const result = await cli('render', bad);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /profile bad\.json: system\.os\.architecture: "x86_64; rm -rf \/" is not a safe name/);
  });

  it('submit (direct) commits a skeleton profile like packuilon.py; the same again commits nothing', async () => {
    const args = ['submit', '--personality', 'nubesvms', '--os', 'sl', '--os-version', '7x', '--sandbox', 'alice/fix', '--json'];
    const first = await cli(...args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).outcome, 'committed');
    assert.match(git(repo, 'log', '-1', '--format=%B'), /images\(nubesvms-sl7x-x86_64\): new image from submit-nubesvms-sl7x-x86_64\.json[\s\S]*Trigger: submit/);
    const manifest = JSON.parse(readFileSync(join(repo, 'images', 'nubesvms-sl7x-x86_64', 'image.json'), 'utf8'));
    assert.equal(manifest.metadata.AQ_SANDBOX, 'alice/fix');
    const second = await cli(...args);
    assert.equal(JSON.parse(second.stdout).outcome, 'unchanged');
  });

  it('history lists changes newest first with their trailers', async () => {
    await cli('detect');
    const result = await cli('history', '--json');
    const entries = JSON.parse(result.stdout) as { subject: string; trigger: string; profiles: { name: string; digest: string }[] }[];
    assert.ok(entries.length >= 5);
    assert.equal(entries.at(-1)!.trigger, 'submit');
    assert.ok(entries.slice(0, -1).every((e) => e.trigger === 'detect'));
    assert.ok(entries.every((e) => e.profiles.every((p) => /^sha256:/.test(p.digest))));
    const one = await cli('history', 'nubesvms-sl7x-x86_64', '--json');
    assert.ok(JSON.parse(one.stdout).every((e: { subject: string }) => e.subject.startsWith('images(nubesvms-sl7x-x86_64)')));
  });

  it('bad usage exits 2 with a message', async () => {
    for (const args of [['detect', '--trigger', 'pigeon'], ['frobnicate'], ['submit'], ['submit', '--personality', 'x', '--domain', 'a', '--sandbox', 'b/c'], ['history', '../etc'], ['watch', '--interval', '0']]) {
      const result = await cli(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.ok(result.stderr.length > 0, args.join(' '));
    }
  });

  it('a broken template map is a config error naming the file and key (exit 2)', async () => {
    const map = join(repo, 'templates', 'template-map.json');
    const good = readFileSync(map, 'utf8');
    writeFileSync(map, JSON.stringify({ DEFAULT: 'templates/managed.json' }));
    const result = await cli('render', join(EXAMPLE, 'nubesvms-sl7x-x86-64.cloud.template.json'));
    writeFileSync(map, good);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /template-map\.json: DEFAULT: Invalid input: expected array, received string/);
  });

  it('merge-request mode without a remote or a forge is a config error, never a commit to the branch (exit 2)', async () => {
    const head = git(repo, 'rev-parse', 'HEAD');
    const result = await runCli(['detect'], { cwd: repo, env: { ...env, PACKUILON_REPO_MODE: 'merge-request' } });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /repo\.(remote|mode)|forge: repo\.mode merge-request needs/);
    assert.equal(git(repo, 'rev-parse', 'HEAD'), head);
  });

  it('watch runs passes until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, 'watch', '--interval', '0.2'], { cwd: repo, env: { ...env, LOG_LEVEL: 'silent' } });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while ((stdout.match(/^detect:/gm) ?? []).length < 2) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `watch did not run two passes: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  it('init writes the merge-request keys commented out, the token by its variable name', () => {
    const yaml = readFileSync(join(repo, 'packuilon.yaml'), 'utf8');
    assert.match(yaml, /^# forge:$/m);
    assert.match(yaml, /^#   token_env: GITLAB_TOKEN /m);
    assert.doesNotMatch(yaml, /^forge:/m);
  });

  it('init refuses to overwrite a different file', async () => {
    writeFileSync(join(repo, 'templates', 'managed.json'), '{}');
    const result = await runCli(['init', repo], { cwd: root.path, env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /managed\.json exists with other content/);
    assert.ok(existsSync(join(repo, 'packuilon.yaml')));
    execFileSync('git', ['checkout', '--', 'templates/managed.json'], { cwd: repo, env });
  });
});
