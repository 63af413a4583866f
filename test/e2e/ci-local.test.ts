import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { findCiLocalTools } from '../../src/flows/ci-local.js';
import { runCli } from '../support/cli.js';
import { git, gitEnv, tempDir } from '../support/git-repos.js';
import { localImageRepo } from '../support/image-repo.js';
import { ensureFreshBundle } from '../support/bundle.js';

const PROFILE = 'nubesvms-sl7x-x86-64.cloud.template.json';
const KEY = 'nubesvms-sl7x-x86_64';

describe('ci local: what is missing, in one line', () => {
  const root = tempDir();
  after(() => root.remove());

  it('no gitlab-ci-local, no rsync, no origin/<default> ref', async () => {
    const repo = join(root.path, 'bare-repo');
    mkdirSync(repo);
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(repo, '.gitlab-ci.yml'), 'job: { script: [true] }\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'one');
    const loaded = loadConfig({ env: {}, cwd: repo });
    await assert.rejects(findCiLocalTools(loaded, { PATH: '/nonexistent' }, '/nonexistent'), /^ConfigError: ci local: gitlab-ci-local is not installed \(node_modules\/\.bin or PATH\): npm install --save-dev gitlab-ci-local@4\.73\.0/);
    const bin = join(root.path, 'bin');
    mkdirSync(bin);
    await assert.rejects(findCiLocalTools(loaded, { PATH: bin }), /^ConfigError: ci local: rsync is not installed .*apt-get install rsync$/);
    const result = await runCli(['ci', 'local'], { cwd: repo, env: gitEnv });
    assert.equal(result.code, 2);
    // One line; it may start with the hint that this repo has no packuilon.yaml.
    assert.match(result.stderr, /^packuilon: [^\n]*ci local: [^\n]* has no origin\/main ref, which gitlab-ci-local needs: add a remote named origin and push main \(git push -u origin main\)\n$/);
    assert.ok(result.stderr.includes(repo));
  });
});

describe('the real .gitlab-ci.yml under gitlab-ci-local: plan → child pipeline → local Packer build → dotenv to the next job', () => {
  const root = tempDir();
  let repo = '';
  let before_ = '';
  let log = '';

  before(async () => {
    // ci local points PACKUILON at this package's build.
    ensureFreshBundle();
    ({ repo } = await localImageRepo(root.path));
    before_ = git(repo, 'rev-parse', 'HEAD');
    // A profile changes in Aquilon; the real detect commits the new render.
    const profiles = join(root.path, 'profiles');
    const doc = JSON.parse(readFileSync(join(profiles, PROFILE), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(profiles, PROFILE), `${JSON.stringify({ ...doc, changed: 'for ci local' }, null, 2)}\n`);
    const index = join(profiles, 'profiles-info.xml');
    writeFileSync(index, readFileSync(index, 'utf8').replace(new RegExp(`mtime='\\d+'>${PROFILE.replace(/\./g, '\\.')}<`), `mtime='1900000000'>${PROFILE}<`));
    const detect = await runCli(['detect'], { cwd: repo, env: gitEnv });
    assert.equal(detect.code, 0, detect.stderr);
    assert.notEqual(git(repo, 'rev-parse', 'HEAD'), before_);
  });
  after(() => root.remove());

  it('runs the pipeline: the child builds with real Packer, tests with real Rally (which cannot say: no cloud), and does not reject', { timeout: 300_000 }, async () => {
    // As on the protected default branch, so that promote and reject are in the pipeline: a
    // project variable (the file gitlab-ci-local reads), since --variable does not reach the child.
    writeFileSync(join(repo, '.gitlab-ci-local-variables.yml'), 'CI_COMMIT_REF_PROTECTED: "true"\n');
    const result = await runCli(['ci', 'local', '--', '--variable', `CI_COMMIT_BEFORE_SHA=${before_}`], { cwd: repo, env: { ...gitEnv, GITLAB_TOKEN: '', GCL_IGNORE_PREDEFINED_VARS: 'CI_COMMIT_REF_PROTECTED' } });
    log = result.stdout + result.stderr;
    assert.equal(result.code, 1, log);
    assert.match(log, new RegExp(`plan +> build +${KEY}`));
    assert.match(log, new RegExp(`plan +> +profile ${PROFILE.replace(/\./g, '\\.')} changed \\(sha256:[0-9a-f]{64}\\)`));
    assert.match(log, /chain per image: build → test → promote \(reject instead of promote when the test fails the image\)/);
    // gitlab-ci-local does not fail the parent for a failed child job: `ci local` does, naming it.
    assert.match(log, new RegExp(`PASS +\\[images\\] -> build:${KEY}`));
    assert.match(log, new RegExp(`FAIL +test:${KEY}`));
    assert.match(log, new RegExp(`ci local: failed jobs: test:${KEY}\n`));
    const child = parse(readFileSync(join(repo, 'out', 'child-pipeline.yml'), 'utf8')) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(child).filter((k) => k.includes(':')), [`build:${KEY}`, `test:${KEY}`, `promote:${KEY}`, `reject:${KEY}`]);
    const record = JSON.parse(readFileSync(join(repo, 'out', KEY, 'build.json'), 'utf8')) as { key: string; builds: { exit_code: number }[] };
    assert.equal(record.key, KEY);
    assert.ok(record.builds.length > 0 && record.builds.every((b) => b.exit_code === 0), JSON.stringify(record));
    // The local template's file builder wrote its "image" where the template says.
    assert.ok(existsSync(join(repo, 'out', KEY, 'nubesvms-sl7x-x86_64.image.txt')), readdirSync(join(repo, 'out', KEY)).join(' '));
  });

  it('the image ID reaches the test job through the build job\'s dotenv report; an error verdict (exit 1) rejects nothing and promotes nothing', () => {
    const env = readFileSync(join(repo, 'out', KEY, 'build.env'), 'utf8');
    assert.match(env, /^IMAGE_ID=local-nubesvms-sl7x-x86_64$/m);
    assert.match(log, new RegExp(`test:${KEY} +> Image ${KEY} \\(local-nubesvms-sl7x-x86_64\\) could not be judged`));
    const test = JSON.parse(readFileSync(join(repo, 'out', KEY, 'test.json'), 'utf8')) as { verdict: string; image_ids: string[] };
    assert.equal(test.verdict, 'error');
    assert.deepEqual(test.image_ids, ['local-nubesvms-sl7x-x86_64']);
    // reject ran (on_failure), said why it rejected nothing, and told no one; promote did not run.
    assert.match(log, new RegExp(`PASS +\\[images\\] -> reject:${KEY}`));
    assert.match(log, new RegExp(`reject:${KEY} +> ci reject ${KEY}: nothing rejected: the test's verdict is error \\(Rally task [0-9a-f-]+ ended crashed: [^)]*\\): only a failed test rejects an image`));
    assert.match(log, new RegExp(`reject:${KEY} +> ci notify ${KEY}: no final outcome to tell: the test's verdict is error`));
    assert.doesNotMatch(log, new RegExp(`promote:${KEY} +>`));
    assert.ok(!existsSync(join(repo, 'out', KEY, 'promote.json')));
  });
});
