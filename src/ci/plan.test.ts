import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planImages, reasonsOf, type PlanInput } from './plan.js';
import { planRange } from './range.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('planRange', () => {
  const cases: [string, { from?: string; to?: string }, NodeJS.ProcessEnv, unknown][] = [
    ['flags win', { from: A, to: B }, { CI_COMMIT_BEFORE_SHA: B }, { from: { sha: A, source: '--from' }, to: { sha: B, source: '--to' }, basis: 'flags' }],
    ['merge request: the diff base, even with the all-zero before-SHA GitLab sets there', {}, { CI_MERGE_REQUEST_DIFF_BASE_SHA: A, CI_COMMIT_SHA: B, CI_COMMIT_BEFORE_SHA: '0'.repeat(40) }, { from: { sha: A, source: 'CI_MERGE_REQUEST_DIFF_BASE_SHA' }, to: { sha: B, source: 'CI_COMMIT_SHA' }, basis: 'merge-request' }],
    ['push', {}, { CI_COMMIT_BEFORE_SHA: A, CI_COMMIT_SHA: B }, { from: { sha: A, source: 'CI_COMMIT_BEFORE_SHA' }, to: { sha: B, source: 'CI_COMMIT_SHA' }, basis: 'push' }],
    ['first push', {}, { CI_COMMIT_BEFORE_SHA: '0'.repeat(40), CI_COMMIT_SHA: B }, { from: null, to: { sha: B, source: 'CI_COMMIT_SHA' }, basis: 'first-push' }],
    ['outside CI: the last commit', {}, {}, { from: 'parent', to: 'HEAD', basis: 'local' }],
    ['upper-case SHAs are lowered', { from: A.toUpperCase() }, {}, { from: { sha: A, source: '--from' }, to: 'HEAD', basis: 'flags' }],
  ];
  for (const [name, flags, env, expected] of cases) it(name, () => assert.deepEqual(planRange(flags, env), expected));

  it('refuses anything but a SHA, naming where it came from', () => {
    assert.throws(() => planRange({ from: '--output=/etc/passwd' }, {}), /^UsageError: --from: "--output=\/etc\/passwd" is not a commit SHA/);
    assert.throws(() => planRange({}, { CI_COMMIT_SHA: 'HEAD~1' }), /CI_COMMIT_SHA: "HEAD~1" is not a commit SHA/);
    assert.throws(() => planRange({}, { CI_MERGE_REQUEST_DIFF_BASE_SHA: 'abc' }), /CI_MERGE_REQUEST_DIFF_BASE_SHA: "abc"/);
  });
});

describe('reasonsOf', () => {
  const commit = (subject: string, trailers: [string, string][]) => ({ commit: A, subject, paths: [], trailers: trailers.map(([key, value]) => ({ key, value })) });
  it('one reason per profile of a commit, the re-render subject, a submit, a hand commit', () => {
    assert.deepEqual(reasonsOf('k', commit('images(k): rebuild for a.json and 1 other profile', [['Profile', 'a.json'], ['Profile-Digest', 'sha256:1'], ['Profile', 'b.json'], ['Profile-Digest', 'sha256:2'], ['Trigger', 'queue']])), ['profile a.json changed (sha256:1)', 'profile b.json changed (sha256:2)']);
    assert.deepEqual(reasonsOf('k', commit('images(k): new image from a.json', [['Profile', 'a.json'], ['Profile-Digest', 'sha256:1'], ['Trigger', 'detect']])), ['profile a.json new (sha256:1)']);
    assert.deepEqual(reasonsOf('k', commit('images(k): re-rendered: images/source-images.json changed', [['Trigger', 'rerender']])), ['re-rendered: images/source-images.json changed']);
    assert.deepEqual(reasonsOf('k', commit('images(k): new image from submit-k.json', [['Profile', 'submit-k.json'], ['Profile-Digest', 'sha256:1'], ['Trigger', 'submit']])), ['submitted by hand (submit-k.json)']);
    assert.deepEqual(reasonsOf('k', commit('fix typo', [])), [`changed by ${A.slice(0, 10)} (fix typo)`]);
  });
});

describe('planImages', () => {
  const base: PlanInput = {
    from: A, to: B, changedPaths: [], commits: [], imagesAtTo: new Set(['k']), manifests: new Map(),
    inputs: { templateMapPath: 'templates/template-map.json', sourcesPath: 'images/source-images.json', templateDigests: new Map() },
  };
  it('the source-image map is no image; a broken template map makes its images stale with the parse error', () => {
    const plan = planImages({
      ...base,
      changedPaths: [{ status: 'M', path: 'images/source-images.json' }, { status: 'M', path: 'templates/template-map.json' }],
      manifests: new Map([['k', { templates: [{ template: './templates/a.json', digest: 'sha256:1' }], source_key: 'sl7x-x86_64', source_image: 'img' }]]),
      inputs: { ...base.inputs, templateMap: { ok: false, error: 'cannot parse' }, sources: { ok: true, value: new Map([['sl7x-x86_64', 'img']]) } },
    });
    assert.deepEqual(plan.images, [{ key: 'k', action: 'stale', reasons: ['templates/template-map.json changed (cannot parse)'] }]);
  });
  it('a map change that leaves the key\'s templates alone is nothing', () => {
    const plan = planImages({
      ...base,
      changedPaths: [{ status: 'M', path: 'templates/template-map.json' }],
      manifests: new Map([['k', { templates: [{ template: 'templates/a.json', digest: 'sha256:1' }] }]]),
      inputs: { ...base.inputs, templateMap: { ok: true, value: { DEFAULT: ['./templates/a.json'], other: ['templates/b.json'] } } },
    });
    assert.deepEqual(plan.images, []);
  });
});
