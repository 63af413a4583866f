import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { factsOfManifest, parseManifest, renderManifest, sameAsEarlierManifest, type Manifest } from './manifest.js';
import { parseProfile, resolveImage, type Site } from '../resolve/index.js';
import { profileText, type ProfileFields } from '../../test/support/site.js';

const site: Site = {
  imageNameFormat: '{personality}-{os}{os_version}-{arch}',
  templateMap: { DEFAULT: ['templates/managed.json'] },
  sourceImages: new Map([['sl7x-x86_64', 'img-1'], ['rocky8.10-aarch64', 'img-2']]),
};

function manifestOf(fields: ProfileFields): { text: string; manifest: Manifest } {
  const facts = parseProfile('h.json', profileText(fields));
  const resolution = resolveImage(facts, 'h.json', site);
  if (resolution.kind !== 'image') throw new Error('unreachable');
  const text = renderManifest(resolution.spec, { 'h.json': 'sha256:00' }, [{ template: 'templates/managed.json', digest: 'sha256:11', files: ['managed.json'] }]);
  const parsed = parseManifest(text);
  if (!('manifest' in parsed)) throw new Error(parsed.problem);
  return { text, manifest: parsed.manifest };
}

/** As a release before the facts and with the generator wrote it. */
function earlier(manifest: Manifest, extra: Record<string, unknown> = {}): string {
  const { facts: _facts, ...rest } = manifest;
  void _facts;
  return `${JSON.stringify({ ...rest, generator: 'packuilon/0.0.1', ...extra }, null, 2)}\n`;
}

describe('manifest: facts for re-rendering, earlier releases', () => {
  for (const fields of [{}, { domain: 'prod-α' }, { sandbox: { author: 'alice', name: 'kern-el' } }, { personality: 'x.y_z', os: 'rocky', osVersion: '8.10', arch: 'aarch64' }] as ProfileFields[]) {
    it(`derives the recorded facts from metadata + key: ${JSON.stringify(fields)}`, () => {
      const { manifest } = manifestOf(fields);
      const recorded = factsOfManifest(manifest);
      const { facts: _facts, ...old } = manifest;
      void _facts;
      assert.deepEqual(factsOfManifest(old), recorded);
    });
  }

  it('an earlier manifest that differs only by generator and missing facts is the same render', () => {
    const { text, manifest } = manifestOf({ sandbox: { author: 'alice', name: 'k' } });
    assert.ok(sameAsEarlierManifest(earlier(manifest), text));
    assert.ok(sameAsEarlierManifest(text, text));
  });

  it('any other difference is a change', () => {
    const { text, manifest } = manifestOf({});
    for (const changed of [{ source_image: 'img-2' }, { image_name: 'other' }, { profiles: {} }, { metadata: { ...manifest.metadata, AQ_DOMAIN: 'qa' } }, { templates: [] }]) {
      assert.equal(sameAsEarlierManifest(earlier(manifest, changed), text), false, JSON.stringify(changed));
    }
    assert.equal(sameAsEarlierManifest('not json', text), false);
    assert.equal(sameAsEarlierManifest('[]', text), false);
    assert.equal(sameAsEarlierManifest('null', text), false);
  });

  it('hostile or damaged manifests give one reason, never a throw', () => {
    const { manifest } = manifestOf({});
    const cases: [string, RegExp][] = [
      ['{"image_key": ', /^not valid JSON/],
      ['"a string"', /\(top\)/],
      [JSON.stringify({ ...manifest, profiles: { 'h.json': 7 } }), /^profiles\.h\.json: /],
      [JSON.stringify({ ...manifest, metadata: 'x' }), /^metadata: /],
      [JSON.stringify({ ...manifest, facts: { ...manifest.facts, branch: { type: 'git' } } }), /^facts\.branch/],
      [`{"x": "${'y'.repeat(100_000)}`, /^not valid JSON: .{0,120}$/],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseManifest(text);
      assert.ok('problem' in parsed, text.slice(0, 40));
      assert.match(parsed.problem, reason);
    }
    const underivable: [Partial<Manifest>, RegExp][] = [
      [{ metadata: { ...manifest.metadata, AQ_OS: '' } }, /metadata lacks/],
      [{ source_key: 'centos7-x86_64' }, /do not match the metadata/],
      [{ image_key: 'other-sl7x-x86_64' }, /do not match the metadata/],
      [{ metadata: { ...manifest.metadata, AQ_DOMAIN: '', AQ_SANDBOX: 'no-slash' } }, /not author\/name/],
      [{ metadata: { ...manifest.metadata, AQ_DOMAIN: '', AQ_SANDBOX: 'a/b/c' } }, /not author\/name/],
      [{ metadata: { ...manifest.metadata, AQ_DOMAIN: '' } }, /not author\/name/],
    ];
    for (const [change, reason] of underivable) {
      const { facts: _facts, ...old } = { ...manifest, ...change };
      void _facts;
      const facts = factsOfManifest(old);
      assert.ok('problem' in facts, JSON.stringify(change));
      assert.match(facts.problem, reason);
    }
  });
});
