import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkImageNameFormat, imageNameOf, parseProfile } from './index.js';
import { ConfigError, InputError } from '../shared/errors.js';
import { profileText } from '../../test/support/site.js';

describe('resolve: control characters in metadata values', () => {
  const values = ['line\nbreak', 'tab\there', 'cr\rhere', 'nul\u0000', 'bell\u0007', 'del\u007f', 'c1 \u0085 next line', 'ls \u2028 separator', '\u001b[31mred'];
  for (const value of values) {
    for (const [fields, field] of [
      [{ domain: value }, 'metadata.template.branch.name'],
      [{ archetype: value }, 'system.archetype.name'],
      [{ sandbox: { author: value, name: 'n' } }, 'metadata.template.branch.author'],
      [{ hostname: value }, 'system.network.hostname'],
    ] as const) {
      it(`rejects ${JSON.stringify(value)} in ${field}, naming the field`, () => {
        assert.throws(
          () => parseProfile('host.json', profileText(fields)),
          (error: unknown) => error instanceof InputError && error.field === field && /contains a control character \(U\+[0-9A-F]{4}\)/.test(error.message) && !error.message.includes('\n'),
        );
      });
    }
  }

  it('keeps printable text, quotes and non-ASCII letters', () => {
    for (const value of ['quote " and \\', 'ünïcødé ☃', 'a b c', '$(id)']) assert.equal(parseProfile('host.json', profileText({ domain: value })).branch.name, value);
  });

  it('cuts a 1 MB value in the message to ~80 characters', () => {
    const huge = `${'x'.repeat(1_000_000)}\n`;
    assert.throws(
      () => parseProfile('host.json', profileText({ personality: huge })),
      (error: unknown) => error instanceof InputError && error.message.length < 200 && error.problem.length < 150 && /"x{80}…" is not a safe name/.test(error.message),
    );
  });
});

describe('resolve: image_name formats that cannot give a safe name are config errors', () => {
  for (const format of ['{personality}/{os}', 'images {key}', '-{key}', '.{key}', '{key};rm', `${'n'.repeat(130)}{key}`, '{key}$(id)', 'ü{key}', '']) {
    it(`refuses ${JSON.stringify(format.slice(0, 40))}`, () => {
      assert.throws(() => checkImageNameFormat(format, 'packuilon.yaml: image_name'), (error: unknown) => error instanceof ConfigError && /^packuilon\.yaml: image_name: .* gives unsafe image names/.test(error.message));
    });
  }

  for (const format of ['{personality}-{os}{os_version}-{arch}', '{key}', 'site_{key}+{domain}', 'v1.{personality}']) {
    it(`accepts ${JSON.stringify(format)}`, () => checkImageNameFormat(format));
  }

  it('leaves what a profile value brings to that profile', () => {
    const facts = parseProfile('host.json', profileText({ sandbox: { author: 'a b', name: 'n' } }));
    checkImageNameFormat('{domain}-{key}');
    assert.throws(() => imageNameOf('{domain}-{key}', facts, 'host.json'), (error: unknown) => error instanceof InputError && error.field === 'image_name');
  });
});
