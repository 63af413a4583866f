import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderImage } from './index.js';
import { parseProfile, resolveImage, type Site } from '../resolve/index.js';
import { ConfigError } from '../shared/errors.js';
import { LEGACY_TEMPLATE, profileText, type ProfileFields } from '../../test/support/site.js';
import type { TemplateSource } from '../model.js';

const site: Site = {
  imageNameFormat: '{personality}-{os}{os_version}-{arch}',
  templateMap: { DEFAULT: ['templates/managed.json'] },
  sourceImages: new Map([['sl7x-x86_64', 'img-1']]),
};

function render(templates: TemplateSource[], fields: ProfileFields = {}) {
  const resolution = resolveImage(parseProfile('host.json', profileText(fields)), 'host.json', site);
  if (resolution.kind !== 'image') throw new Error('unreachable');
  return renderImage({ spec: resolution.spec, templates, previousProfiles: {}, profiles: [{ name: 'host.json', digest: 'sha256:00' }] });
}

const legacy = (text: string, path = 'templates/managed.json'): TemplateSource => ({ path, name: path.split('/').pop()!.replace(/\.json$/, ''), text });
const isConfigError = (pattern: RegExp) => (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('\n');

describe('render: a template must not set what $METADATA fills', () => {
  const cases: [string, string, RegExp][] = [
    ['after the blank', '{ "builders": [{"name": "$NAME"}], "md": { $METADATA, "AQ_OS": "evil" } }', /template templates\/managed\.json: md sets AQ_OS next to \$METADATA/],
    ['before the blank', '{ "builders": [{"name": "$NAME"}], "md": { "AQ_PERSONALITY": "evil", $METADATA } }', /md sets AQ_PERSONALITY/],
    [
      'in a second object, where the first check never looked',
      '{ "builders": [{"name": "$NAME", "metadata": { $METADATA }}, {"name": "b", "metadata": { $METADATA, "AQ_DOMAIN": "x" }}] }',
      /builders\[1\]\.metadata sets AQ_DOMAIN/,
    ],
    ['a sandbox key on a domain profile', '{ "md": { $METADATA, "AQ_SANDBOX": "a/b" }, "n": "$NAME" }', /md sets AQ_SANDBOX/],
    ['at the top level', '{ $METADATA, "AQ_ARCHETYPE": "x", "n": "$NAME" }', /\(top\) sets AQ_ARCHETYPE/],
  ];
  for (const [what, text, pattern] of cases) {
    it(`is a config error naming the template and key: ${what}`, () => {
      assert.throws(() => render([legacy(text)]), isConfigError(pattern));
    });
  }

  it('still renders a template whose other objects use metadata-like keys', () => {
    const text = '{ "n": "$NAME", "md": { $METADATA }, "other": { "AQ_OS": "documented elsewhere" } }';
    const build = JSON.parse(render([legacy(text)])[0]!.content);
    assert.equal(build.md.AQ_OS, 'sl');
    assert.equal(build.other.AQ_OS, 'documented elsewhere');
  });

  it('renders two $METADATA objects, both filled', () => {
    const text = '{ "a": { $METADATA }, "b": { "x": 1, $METADATA }, "n": "$NAME" }';
    const build = JSON.parse(render([legacy(text)])[0]!.content);
    assert.equal(build.a.AQ_PERSONALITY, 'nubesvms');
    assert.equal(build.b.AQ_PERSONALITY, 'nubesvms');
  });
});

describe('render: two templates writing one file', () => {
  const variables = `${JSON.stringify({ variables: { image_name: '' }, builders: [] })}\n`;
  const cases: [string, TemplateSource[], RegExp][] = [
    ['a variables foo.json and a legacy foo.vars.json', [legacy(variables, 'templates/foo.json'), legacy(LEGACY_TEMPLATE, 'templates/foo.vars.json')], /template templates\/foo\.vars\.json writes foo\.vars\.json, which template templates\/foo\.json writes too/],
    ['the legacy one first', [legacy(LEGACY_TEMPLATE, 'templates/foo.vars.json'), legacy(variables, 'templates/foo.json')], /template templates\/foo\.json writes foo\.vars\.json, which template templates\/foo\.vars\.json writes too/],
    [
      'an HCL template and a legacy x.pkrvars.json',
      [{ path: 'templates/x.pkr.hcl', name: 'x', text: 'source "null" "a" {}\n' }, legacy(LEGACY_TEMPLATE, 'templates/x.pkrvars.json')],
      /writes x\.pkrvars\.json, which template templates\/x\.pkr\.hcl writes too/,
    ],
    ['one template listed twice under two directories', [legacy(LEGACY_TEMPLATE, 'a/m.json'), legacy(LEGACY_TEMPLATE, 'b/m.json')], /template b\/m\.json writes m\.json, which template a\/m\.json writes too/],
  ];
  for (const [what, templates, pattern] of cases) {
    it(`is a config error naming both templates: ${what}`, () => {
      assert.throws(() => render(templates), isConfigError(pattern));
    });
  }

  it('renders distinct outputs side by side', () => {
    const files = render([legacy(variables, 'templates/foo.json'), legacy(LEGACY_TEMPLATE, 'templates/bar.json')]);
    assert.deepEqual(files.map((f) => f.path.split('/')[1]), ['foo.json', 'foo.vars.json', 'bar.json', 'image.json']);
  });
});
