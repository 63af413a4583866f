import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { AVAILABLE_STAGES, renderChildPipeline } from './child-pipeline.js';
import type { Plan } from './plan.js';

const plan: Plan = {
  from: 'a'.repeat(40),
  to: 'b'.repeat(40),
  images: [
    { key: 'web-sl7x-x86_64', action: 'build', reasons: ['profile web01.json changed (sha256:1)'] },
    { key: 'old-sl7x-x86_64', action: 'deleted', reasons: ['removed'] },
    { key: 'tpl-sl7x-x86_64', action: 'stale', reasons: ['templates/managed.json changed'] },
  ],
};

type Job = Record<string, unknown> & { artifacts?: { paths: string[]; reports: Record<string, string> }; rules?: { if: string }[] };

describe('child pipeline', () => {
  it('build only, when asked: one build job per image to build, none for stale or deleted', () => {
    assert.deepEqual(AVAILABLE_STAGES, ['build', 'test', 'promote']);
    const doc = parse(renderChildPipeline(plan, { packuilon: 'node bin/packuilon.mjs', stages: ['build'] })) as Record<string, Job>;
    assert.deepEqual(doc.stages, ['build']);
    assert.deepEqual(doc.variables, { PACKUILON: 'node bin/packuilon.mjs' });
    assert.deepEqual(Object.keys(doc).filter((k) => k.includes(':')), ['build:web-sl7x-x86_64']);
    const build = doc['build:web-sl7x-x86_64']!;
    assert.equal(build.resource_group, 'image-web-sl7x-x86_64');
    assert.equal(build.interruptible, true);
    assert.deepEqual(build.variables, { IMAGE_KEY: 'web-sl7x-x86_64' });
    assert.deepEqual(build.script, ['$PACKUILON ci build "$IMAGE_KEY"']);
    assert.deepEqual(build.artifacts!.paths, ['out/web-sl7x-x86_64/']);
    assert.equal(build.artifacts!.reports.dotenv, 'out/web-sl7x-x86_64/build.env');
    // The last job of the chain carries the image's environment.
    assert.deepEqual(build.environment, { name: 'images/web-sl7x-x86_64' });
  });

  it('with test and promote: needs, dotenv, the environment on promote, promote only on the protected default branch, never interruptible', () => {
    const doc = parse(renderChildPipeline(plan, { packuilon: 'x' })) as Record<string, Job>;
    assert.deepEqual(doc.stages, ['build', 'test', 'promote']);
    const [build, test, promote] = ['build', 'test', 'promote'].map((s) => doc[`${s}:web-sl7x-x86_64`]!);
    assert.equal(build!.environment, undefined);
    assert.equal(test!.environment, undefined);
    assert.deepEqual(promote!.environment, { name: 'images/web-sl7x-x86_64' });
    assert.equal(test!.interruptible, true);
    assert.equal(promote!.interruptible, false);
    assert.ok([build, test, promote].every((job) => job!.resource_group === 'image-web-sl7x-x86_64'));
    assert.deepEqual(test!.needs, [{ job: 'build:web-sl7x-x86_64', artifacts: true }]);
    assert.match(String((test!.script as string[])[0]), /ci test "\$IMAGE_KEY" --image-id "\$IMAGE_ID"/);
    assert.deepEqual(promote!.rules, [{ if: '$CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }]);
    assert.equal(build!.rules, undefined);
    assert.deepEqual(Object.keys(doc).filter((k) => k.includes(':')), ['build:web-sl7x-x86_64', 'test:web-sl7x-x86_64', 'promote:web-sl7x-x86_64', 'reject:web-sl7x-x86_64']);
  });

  it('the verdict decides: test retried only on exit 1 (it said nothing), promote on success, reject on failure and only what the test failed', () => {
    const doc = parse(renderChildPipeline(plan, { packuilon: 'x' })) as Record<string, Job>;
    const [test, promote, reject] = ['test', 'promote', 'reject'].map((s) => doc[`${s}:web-sl7x-x86_64`]!);
    assert.deepEqual(test!.retry, { max: 2, exit_codes: [1] });
    assert.equal(test!.allow_failure, undefined, 'a failed image must fail the pipeline');
    assert.equal(promote!.retry, undefined);
    assert.deepEqual(reject!.stage, 'promote');
    assert.deepEqual(reject!.needs, promote!.needs);
    assert.deepEqual(promote!.needs, [{ job: 'build:web-sl7x-x86_64', artifacts: true }, { job: 'test:web-sl7x-x86_64', artifacts: true }]);
    assert.deepEqual(reject!.rules, [{ if: '$CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', when: 'on_failure' }]);
    assert.equal(reject!.interruptible, false);
    assert.equal(reject!.environment, undefined);
    assert.deepEqual(reject!.script, ['$PACKUILON ci reject "$IMAGE_KEY" --if-failed', '$PACKUILON ci notify "$IMAGE_KEY" --outcome auto']);
    assert.deepEqual(promote!.script, ['$PACKUILON ci promote "$IMAGE_KEY"', '$PACKUILON ci notify "$IMAGE_KEY" --outcome promoted']);
  });

  it('no image to build: one job that says so (GitLab refuses an empty child pipeline)', () => {
    const doc = parse(renderChildPipeline({ ...plan, images: plan.images.filter((i) => i.action !== 'build') }, { packuilon: 'x' })) as Record<string, Job>;
    assert.deepEqual(Object.keys(doc), ['stages', 'variables', 'nothing-to-build']);
  });

  it('hostile values cannot break the YAML: a key that is no image key is refused, a hostile PACKUILON stays one string', () => {
    assert.throws(() => renderChildPipeline({ ...plan, images: [{ key: 'x:\n  script: [evil]', action: 'build', reasons: [] }] }, { packuilon: 'x' }), /is not an image key/);
    const packuilon = 'npx packuilon\n"evil": {script: [rm]}\n# ';
    const doc = parse(renderChildPipeline(plan, { packuilon })) as Record<string, unknown>;
    assert.deepEqual(doc.variables, { PACKUILON: packuilon });
    assert.equal(doc.evil, undefined);
  });
});
