import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactOf, createPacker, imageIdOf } from './index.js';

// Real Packer 1.6.6 with the null builder, shell-local and the manifest post-processor.
const dir = mkdtempSync(join(tmpdir(), 'packer-adapter-'));
const write = (name: string, value: unknown) => writeFileSync(join(dir, name), JSON.stringify(value));

write('local.json', {
  variables: { image_name: '' },
  builders: [{ type: 'null', name: 'local', communicator: 'none' }],
  provisioners: [{ type: 'shell-local', inline: ['echo building {{user `image_name`}}, with a comma'] }],
  'post-processors': [{ type: 'manifest', output: 'manifest-{{user `image_name`}}.json', custom_data: { image_id: 'local-{{user `image_name`}}' } }],
});
write('local.vars.json', { image_name: 'img1' });
write('fail.json', { builders: [{ type: 'null', communicator: 'none' }], provisioners: [{ type: 'shell-local', inline: ['echo about to fail', 'exit 3'] }] });
write('bad.json', { builders: [{ type: 'nonexistent-builder' }] });

describe('packer adapter (real Packer)', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  const packer = createPacker({ cwd: dir });

  it('validates a build file with its var file', async () => {
    assert.equal((await packer.validate('local.json', { varFile: 'local.vars.json' })).exitCode, 0);
    const bad = await packer.validate('bad.json');
    assert.equal(bad.exitCode, 1);
    assert.match(bad.tail.join('\n'), /nonexistent-builder/);
  });

  it('builds, streams readable lines, and reads the manifest post-processor of this run', async () => {
    const lines: string[] = [];
    const result = await packer.build('local.json', { varFile: 'local.vars.json', manifests: ['manifest-img1.json'], onLine: (_s, line) => lines.push(line) });
    assert.equal(result.exitCode, 0);
    assert.ok(lines.includes('    local: building img1, with a comma'), lines.join('\n'));
    assert.equal(result.artifacts[0]?.builderId, 'fnoeding.null');
    assert.equal(result.manifest?.builds.length, 1);
    assert.equal(imageIdOf(result), 'local-img1');
    assert.equal(artifactOf(result), 'Null');
    // A second run appends to the manifest: only this run's entry counts.
    const again = await packer.build('local.json', { varFile: 'local.vars.json', manifests: ['manifest-img1.json'] });
    assert.equal(again.manifest?.builds.length, 1);
  });

  it('a failed build gives Packer\'s exit code and its error lines, and no image', async () => {
    const result = await packer.build('fail.json');
    assert.equal(result.exitCode, 1);
    assert.ok(result.errors.some((e) => /non-zero exit status: 3/.test(e)), result.errors.join('\n'));
    assert.equal(imageIdOf(result), null);
  });

  it('a timeout stops Packer and says so', async () => {
    write('slow.json', { builders: [{ type: 'null', communicator: 'none' }], provisioners: [{ type: 'shell-local', inline: ['sleep 30'] }] });
    const started = Date.now();
    const result = await packer.build('slow.json', { timeoutMs: 1500 });
    assert.equal(result.stopped, 'timeout');
    assert.notEqual(result.exitCode, 0);
    assert.ok(Date.now() - started < 15_000);
  });
});
