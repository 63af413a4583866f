import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeedPaths } from './seed-paths.js';

const seed = new SeedPaths('/tmp/copy-of-seed');

test('both /etc/packer-utils and the directory itself mean "inside"', () => {
  assert.equal(seed.inside('/etc/packer-utils/templates/managed.json'), 'templates/managed.json');
  assert.equal(seed.inside('/tmp/copy-of-seed/cloud-init.txt'), 'cloud-init.txt');
  assert.equal(seed.inside('templates/x.json'), 'templates/x.json');
  assert.equal(seed.inside('/etc/packer-utils/../shadow'), undefined);
  assert.equal(seed.inside('/etc/packer-utils-old/x'), undefined);
  assert.equal(seed.local('/etc/packer-utils/a.sh'), '/tmp/copy-of-seed/a.sh');
});

test('references and rewrite touch only whole seed paths, every other byte kept', () => {
  const text = '"source /etc/packer-utils/admin-auth.sh; x", "/srv/etc/packer-utils/no", "see /etc/packer-utils/a.sh."';
  assert.deepEqual(seed.references(text), ['/etc/packer-utils/admin-auth.sh', '/etc/packer-utils/a.sh']);
  const out = seed.rewrite(text, (path) => (path.endsWith('a.sh') && !path.includes('auth') ? 'scripts/a.sh' : undefined));
  assert.equal(out, text.replace('/etc/packer-utils/a.sh.', 'scripts/a.sh.'));
});
