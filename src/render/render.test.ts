import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderImage } from './index.js';
import { parseProfile, resolveImage, type Site } from '../resolve/index.js';
import { ConfigError, InputError } from '../shared/errors.js';
import { LEGACY_TEMPLATE, profileText, type ProfileFields } from '../../test/support/site.js';

const site: Site = {
  imageNameFormat: '{personality}-{os}{os_version}-{arch}',
  templateMap: { DEFAULT: ['templates/managed.json'] },
  sourceImages: new Map([['sl7x-x86_64', '0b10e583-9e13-4878-9116-f4002846fa73']]),
};

function render(fields: ProfileFields, template = LEGACY_TEMPLATE, previousProfiles: Record<string, string> = {}) {
  const text = profileText(fields);
  const resolution = resolveImage(parseProfile('host.json', text), 'host.json', site);
  assert.equal(resolution.kind, 'image');
  if (resolution.kind !== 'image') throw new Error('unreachable');
  return renderImage({
    spec: resolution.spec,
    templates: [{ path: 'templates/managed.json', name: 'managed', text: template }],
    previousProfiles,
    profiles: [{ name: 'host.json', digest: 'sha256:00' }],
  });
}

const HOSTILE = [
  'quote " and \\ backslash',
  '$(rm -rf /)',
  '`id`; echo pwned',
  '../../etc/passwd',
  'ünïcødé ☃ separator',
  '$NAME $IMAGE $METADATA',
  '", "AQ_PERSONALITY": "evil',
];

describe('render: legacy $NAME/$IMAGE/$METADATA templates', () => {
  it('fills the blanks and records the render in image.json', () => {
    const files = render({});
    assert.deepEqual(files.map((f) => f.path), ['nubesvms-sl7x-x86_64/managed.json', 'nubesvms-sl7x-x86_64/image.json']);
    const build = JSON.parse(files[0]!.content);
    assert.equal(build.builders[0].name, 'nubesvms-sl7x-x86_64');
    assert.equal(build['post-processors'][0].custom_data.image_name, 'nubesvms-sl7x-x86_64 AQ');
    assert.equal(build['post-processors'][0].custom_data.source_image, '0b10e583-9e13-4878-9116-f4002846fa73');
    assert.deepEqual(build._instance_metadata, { AQ_ARCHETYPE: 'ral-tier1', AQ_DOMAIN: 'prod', AQ_OS: 'sl', AQ_OSVERSION: '7x', AQ_PERSONALITY: 'nubesvms' });
    const manifest = JSON.parse(files[1]!.content);
    assert.deepEqual(manifest.profiles, { 'host.json': 'sha256:00' });
    assert.equal(manifest.templates[0].template, 'templates/managed.json');
    assert.match(manifest.templates[0].digest, /^sha256:[0-9a-f]{64}$/);
  });

  it('gives identical bytes for identical input', () => {
    assert.deepEqual(render({ domain: 'prod' }), render({ domain: 'prod' }));
  });

  it('keeps the profiles of the previous manifest and updates this one', () => {
    const manifest = JSON.parse(render({}, LEGACY_TEMPLATE, { 'other.json': 'sha256:11', 'host.json': 'sha256:old' })[1]!.content);
    assert.deepEqual(manifest.profiles, { 'host.json': 'sha256:00', 'other.json': 'sha256:11' });
  });

  it('sets AQ_SANDBOX author/name for a sandbox and an empty AQ_DOMAIN', () => {
    const build = JSON.parse(render({ sandbox: { author: 'alice', name: 'newkernel' } })[0]!.content);
    assert.equal(build._instance_metadata.AQ_SANDBOX, 'alice/newkernel');
    assert.equal(build._instance_metadata.AQ_DOMAIN, '');
  });

  for (const value of HOSTILE) {
    it(`keeps a hostile metadata value exactly, inside the JSON only: ${JSON.stringify(value)}`, () => {
      const files = render({ domain: value, archetype: value, sandbox: undefined });
      const build = JSON.parse(files[0]!.content);
      assert.equal(build._instance_metadata.AQ_DOMAIN, value);
      assert.equal(build._instance_metadata.AQ_ARCHETYPE, value);
      assert.equal(build._instance_metadata.AQ_PERSONALITY, 'nubesvms');
      // Nowhere but the metadata: the name, the image and the shell command are untouched.
      assert.deepEqual(build.provisioners[0].inline, ['echo building nubesvms-sl7x-x86_64 from 0b10e583-9e13-4878-9116-f4002846fa73']);
      for (const file of files) assert.ok(!file.path.includes('..'));
    });
  }

  for (const [field, key] of [
    ['personality', 'system.personality.name'],
    ['os', 'system.os.distribution.name'],
    ['osVersion', 'system.os.version.name'],
    ['arch', 'system.os.architecture'],
  ] as const) {
    for (const value of ['../../etc', 'a/b', '$(id)', 'a b', '', 'x'.repeat(65), 'é']) {
      it(`rejects ${JSON.stringify(value)} in ${key}, naming the profile and field`, () => {
        assert.throws(
          () => parseProfile('host.json', profileText({ [field]: value })),
          (error: unknown) => error instanceof InputError && error.profile === 'host.json' && error.field === key,
        );
      });
    }
  }

  it('rejects Packer template delimiters in a metadata value', () => {
    assert.throws(() => parseProfile('host.json', profileText({ domain: '{{ env `HOME` }}' })), /metadata\.template\.branch\.name: contains Packer template delimiters/);
  });

  it('names the template when the rendered file is not JSON', () => {
    assert.throws(() => render({}, '{ "instance_metadata": $METADATA }'), (error: unknown) => error instanceof ConfigError && /template templates\/managed\.json: the rendered build file is not JSON/.test(error.message));
  });
});

describe('render: variable-based templates', () => {
  const template = `${JSON.stringify({ variables: { image_name: '', source_image: '', aq_domain: '', unrelated: 'x' }, builders: [{ type: 'null', communicator: 'none' }] }, null, 2)}\n`;

  it('copies the template as it is and writes only the declared variables to a var file', () => {
    const files = render({ domain: 'quote " $(x)' }, template);
    assert.deepEqual(files.map((f) => f.path), ['nubesvms-sl7x-x86_64/managed.json', 'nubesvms-sl7x-x86_64/managed.vars.json', 'nubesvms-sl7x-x86_64/image.json']);
    assert.equal(files[0]!.content, template);
    assert.deepEqual(JSON.parse(files[1]!.content), { aq_domain: 'quote " $(x)', image_name: 'nubesvms-sl7x-x86_64', source_image: '0b10e583-9e13-4878-9116-f4002846fa73' });
  });

  it('refuses a template with neither blanks nor variables', () => {
    assert.throws(() => render({}, '{"builders": []}'), /has neither \$NAME\/\$IMAGE\/\$METADATA blanks nor a "variables" object/);
  });
});
