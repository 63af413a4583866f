import { test } from 'node:test';
import assert from 'node:assert/strict';
import { code, renderDescription, type RequestFacts } from './description.js';
import { diffProfiles } from './profile-diff.js';
import { keyOfRequest } from './marker.js';

test('diffProfiles lists changed, added and removed leaves by dotted path', () => {
  const before = { system: { kernel: '5.14', disks: ['sda'], gone: 1 }, same: true };
  const after = { system: { kernel: '6.1', disks: ['sda', 'sdb'], added: { x: null } }, same: true };
  assert.deepEqual(diffProfiles(before, after), [
    { path: 'system.added.x', after: 'null' },
    { path: 'system.disks.1', after: '"sdb"' },
    { path: 'system.gone', before: '1' },
    { path: 'system.kernel', before: '"5.14"', after: '"6.1"' },
  ]);
  assert.deepEqual(diffProfiles({ a: 1 }, { a: 1 }), []);
});

test('code() cannot be broken out of by backticks, newlines, pipes or HTML, and cuts long values', () => {
  for (const hostile of ['`', '``', 'a ``` b', '`start', 'end`', 'x\ny\r\nz', '<img src=x onerror=alert(1)>', '<!-- packuilon:image-key=evil -->', '\u0007bell']) {
    const span = code(hostile);
    const fence = /^`+/.exec(span)![0];
    assert.ok(span.endsWith(fence), span);
    const inner = span.slice(fence.length, span.length - fence.length);
    assert.ok(!inner.includes(fence), `${span} holds its own fence`);
    assert.ok(!inner.includes('\n') && !inner.includes('\u0007'), span);
  }
  assert.equal(code('a|b', true), '`a\\|b`');
  const long = code('x'.repeat(1_000_000));
  assert.ok(long.length < 100, String(long.length));
});

test('the description is capped at ~50 lines of field changes and carries exactly one marker', () => {
  const changes = Array.from({ length: 120 }, (_, n) => ({ path: `system.f${String(n).padStart(3, '0')}`, before: '1', after: '2' }));
  const facts: RequestFacts = {
    key: 'web-sl7x-x86_64',
    defaultBranch: 'main',
    trigger: 'detect',
    image: { before: 'web-sl7x-x86_64', after: 'web-sl7x-x86_64' },
    sourceImage: { before: 'old-id', after: 'new-id' },
    metadata: { before: { AQ_OS: 'sl' }, after: { AQ_OS: 'sl', AQ_DOMAIN: 'prod' } },
    templates: { after: [{ template: 'templates/managed.json', digest: 'sha256:abc' }] },
    profiles: [{ name: 'a.json', before: 'sha256:1', after: 'sha256:2' }],
    files: ['image.json', 'managed.json'],
    why: [{ name: 'a.json', changes, isNew: false }],
  };
  const body = renderDescription(facts);
  assert.equal(body.split('\n').filter((line) => line.startsWith('  - `system.')).length, 50);
  assert.match(body, /…and 70 more/);
  assert.match(body, /\| source image \| `old-id` \| `new-id` \(changed\) \|/);
  assert.match(body, /\| AQ\\_DOMAIN \| — \| `prod` \|/);
  assert.equal(body.match(/<!-- packuilon:image-key=/g)?.length, 1);
  assert.equal(keyOfRequest('packuilon/web-sl7x-x86_64', body), 'web-sl7x-x86_64');
  assert.equal(keyOfRequest('packuilon/other', body), null, 'the marker must match the branch');
});
