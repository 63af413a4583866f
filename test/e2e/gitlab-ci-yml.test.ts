import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { VERSION } from '../../src/version.js';
import { runCli } from '../support/cli.js';
import { gitEnv, tempDir } from '../support/git-repos.js';

const ROOT = new URL('../..', import.meta.url).pathname;

type Job = Record<string, unknown> & { rules?: { if: string }[]; script?: string[]; trigger?: Record<string, unknown> };

function pipeline(path: string): Record<string, Job> & { variables: Record<string, string>; stages: string[] } {
  return parse(readFileSync(path, 'utf8')) as Record<string, Job> & { variables: Record<string, string>; stages: string[] };
}

describe('.gitlab-ci.yml: the repo\'s own and the one init scaffolds', () => {
  const root = tempDir();
  after(() => root.remove());

  it('init writes the pipeline, the local Packer template and a package.json pinning this tool version', async () => {
    const repo = join(root.path, 'repo');
    const result = await runCli(['init', repo, '--index-dir', join(root.path, 'profiles')], { cwd: root.path, env: gitEnv });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(join(repo, '.gitlab-ci.yml'), 'utf8'), readFileSync(join(ROOT, 'templates', 'ci', 'gitlab-ci.yml'), 'utf8'));
    assert.deepEqual(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies, { packuilon: VERSION });
    assert.match(readFileSync(join(repo, 'templates', 'local.json'), 'utf8'), /"type": "file"/);
    assert.match(readFileSync(join(repo, '.gitignore'), 'utf8'), /^out\/$/m);
  });

  for (const [name, file, packuilon] of [
    ['scaffolded', join(ROOT, 'templates', 'ci', 'gitlab-ci.yml'), 'npx --no-install packuilon'],
    ['this repo', join(ROOT, '.gitlab-ci.yml'), 'node bin/packuilon.mjs'],
  ] as const) {
    it(`${name}: validate on merge requests, plan always, the child pipeline on the default branch with strategy depend`, () => {
      const doc = pipeline(file);
      assert.equal(doc.variables.PACKUILON, packuilon);
      assert.equal(doc.variables.GIT_DEPTH, '0');
      assert.deepEqual(doc.stages, ['validate', 'plan', 'images']);
      assert.deepEqual(doc.validate!.rules, [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
      assert.deepEqual(doc.validate!.script, ['$PACKUILON ci validate']);
      assert.equal(doc.plan!.rules, undefined);
      assert.ok(doc.plan!.script!.includes('$PACKUILON ci plan --child-pipeline out/child-pipeline.yml'));
      const images = doc.images!;
      assert.deepEqual(images.rules, [{ if: '$CI_PIPELINE_SOURCE != "merge_request_event" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }]);
      assert.deepEqual(images.trigger, { include: [{ artifact: 'out/child-pipeline.yml', job: 'plan' }], strategy: 'depend', forward: { yaml_variables: false } });
      assert.deepEqual(images.inherit, { variables: false });
      // No secret in the file: credentials come from CI/CD variables only.
      assert.doesNotMatch(readFileSync(file, 'utf8'), /OS_PASSWORD:|GITLAB_TOKEN:|glpat-/);
    });
  }
});
