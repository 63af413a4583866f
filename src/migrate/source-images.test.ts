import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSourceImages } from '../resolve/maps.js';
import { ConfigError } from '../shared/errors.js';
import { planSourceImages } from './source-images.js';

const SL7 = '0b10e583-9e13-4878-9116-f4002846fa73';

test('the seed\'s example entry is left out and reported; the rest loads', () => {
  const report = { notMapped: [] as { item: string; reason: string }[] };
  const text = `{\n "sl7x-x86_64" : "${SL7}",\n "osos_version-archetype" : "this-is-not-valid"\n}\n`;
  const out = planSourceImages('source-images.json', text, report);
  assert.deepEqual([...parseSourceImages('out.json', out)], [['sl7x-x86_64', SL7]]);
  assert.equal(report.notMapped.length, 1);
  assert.match(report.notMapped[0]!.item, /osos_version-archetype/);
});

test('a good file is copied byte for byte', () => {
  const report = { notMapped: [] };
  const text = `{ "sl7x-x86_64": "${SL7}", "rocky9.2-aarch64": "${SL7}" }`;
  assert.equal(planSourceImages('s.json', text, report), text);
  assert.deepEqual(report.notMapped, []);
});

test('the nested os → version-arch shape stays nested; a bad ID is left out', () => {
  const report = { notMapped: [] as { item: string; reason: string }[] };
  const text = JSON.stringify({ sl: { '7x-x86_64': SL7, '6x-x86_64': 'not-an-id' }, centos: { 'x-y': SL7 } });
  const out = JSON.parse(planSourceImages('s.json', text, report)) as unknown;
  assert.deepEqual(out, { sl: { '7x-x86_64': SL7 } });
  assert.deepEqual(report.notMapped.map((entry) => entry.item.split(':')[0]), ['source image sl → 6x-x86_64', 'source image centos → x-y']);
  assert.match(report.notMapped[0]!.reason, /not an image ID/);
});

test('a file that is not JSON is a config error naming it', () => {
  assert.throws(() => planSourceImages('/seed/source-images.json', '{', { notMapped: [] }), (error: unknown) => error instanceof ConfigError && error.message.startsWith('/seed/source-images.json'));
});
