import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { git, gitEnv, tempDir } from '../support/git-repos.js';
import { localImageRepo } from '../support/image-repo.js';

describe('ci validate (real git, real detect, real packer)', () => {
  const root = tempDir();
  let repo = '';
  let base = '';
  const validate = (...args: string[]) => runCli(['ci', 'validate', '--from', base, ...args], { cwd: repo, env: gitEnv });

  before(async () => {
    ({ repo } = await localImageRepo(root.path));
    base = git(repo, 'rev-list', '--max-parents=0', 'HEAD');
  });
  after(() => root.remove());

  it('the images detect committed are valid; -syntax-only is announced when no cloud is configured', async () => {
    const result = await validate();
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ci validate: 4 changed image\(s\) valid: grid-worker-rocky8x-x86_64, /);
    assert.match(result.stderr, /warning: packer validate -syntax-only: no cloud configured/);
  });

  it('a hand-edited build file fails the drift check, naming the file', async () => {
    const file = join(repo, 'images', 'nubesvms-sl7x-x86_64', 'local.json');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('"local"', '"hand-made"'));
    git(repo, 'commit', '--quiet', '-am', 'hand edit');
    const result = await validate();
    assert.equal(result.code, 2);
    assert.match(result.stdout, /^images\/nubesvms-sl7x-x86_64\/local\.json: differs from the re-render of image\.json with the committed templates \(edited by hand\?\)$/m);
    assert.match(result.stderr, /ci validate: 1 problem\(s\) in 4 changed image\(s\)/);
    git(repo, 'reset', '--quiet', '--hard', 'HEAD~1');
  });

  it('a build file that is not JSON, and one packer rejects, are named', async () => {
    const vars = join(repo, 'images', 'grid-worker-sl7x-x86_64', 'local.vars.json');
    writeFileSync(vars, '{"image_key": ');
    git(repo, 'commit', '--quiet', '-am', 'broken');
    const result = await validate();
    assert.equal(result.code, 2);
    assert.match(result.stdout, /^images\/grid-worker-sl7x-x86_64\/local\.vars\.json: not JSON: /m);
    assert.match(result.stdout, /^images\/grid-worker-sl7x-x86_64\/local\.json: packer validate failed \(exit 1\): /m);
    git(repo, 'reset', '--quiet', '--hard', 'HEAD~1');
  });

  it('a template map that breaks its schema is exit 2 naming the file and field', async () => {
    writeFileSync(join(repo, 'templates', 'template-map.json'), '{"DEFAULT": "templates/local.json"}');
    const result = await validate();
    assert.equal(result.code, 2);
    assert.match(result.stderr, /template-map\.json: DEFAULT: /);
    git(repo, 'checkout', '--quiet', 'templates');
  });

  it('a range without image changes checks nothing and passes', async () => {
    const head = git(repo, 'rev-parse', 'HEAD');
    const result = await runCli(['ci', 'validate', '--from', head, '--to', head], { cwd: repo, env: gitEnv });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /0 changed image\(s\) valid/);
  });
});
