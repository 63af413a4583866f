import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskImageOf, sniffDiskFormat } from './disk-image.js';
import type { BuildResult } from './packer.js';

const top = realpathSync(mkdtempSync(join(tmpdir(), 'packuilon-disk-')));
const dir = join(top, 'repo');
mkdirSync(dir);
test.after(() => rmSync(top, { recursive: true, force: true }));
const file = (name: string, head: Buffer | string) => {
  writeFileSync(join(dir, name), Buffer.concat([Buffer.from(head), Buffer.alloc(128)]));
  return join(dir, name);
};

test('disk formats by magic (qcow2, vmdk, vdi), by extension (iso, vhd), raw otherwise', async () => {
  assert.equal(await sniffDiskFormat(file('a', Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]))), 'qcow2');
  assert.equal(await sniffDiskFormat(file('b', 'KDMV')), 'vmdk');
  assert.equal(await sniffDiskFormat(file('c', '<<< Oracle VM VirtualBox Disk Image >>>\n')), 'vdi');
  assert.equal(await sniffDiskFormat(file('d.iso', 'CD001')), 'iso');
  assert.equal(await sniffDiskFormat(file('e.img', 'anything')), 'raw');
  assert.equal(await sniffDiskFormat(file('short', '')), 'raw');
});

const result = (custom: Record<string, unknown> | null, artifact?: { builderId: string; files: string[] }, exitCode = 0): BuildResult =>
  ({
    exitCode,
    stopped: false,
    artifacts: artifact ? [{ target: 'local', index: 0, builderId: artifact.builderId, files: artifact.files }] : [],
    manifest: { path: 'm', text: '', builds: [{ name: 'local', builder_type: 'file', custom_data: custom }] },
  }) as unknown as BuildResult;

test('the disk file: custom_data.disk_image (relative to the repo), else a qemu artifact file; none for a cloud build or a failed one', async () => {
  file('disk.img', 'x');
  assert.deepEqual(await diskImageOf(result({ disk_image: 'disk.img' }), dir), { path: join(dir, 'disk.img'), diskFormat: 'raw', containerFormat: 'bare' });
  assert.deepEqual(await diskImageOf(result({ disk_image: 'disk.img', disk_format: 'qcow2', container_format: 'ovf' }), dir), { path: join(dir, 'disk.img'), diskFormat: 'qcow2', containerFormat: 'ovf' });
  file('q.qcow2', Buffer.from([0x51, 0x46, 0x49, 0xfb]));
  assert.equal((await diskImageOf(result(null, { builderId: 'transcend.qemu', files: [join(dir, 'q.qcow2')] }), dir))?.diskFormat, 'qcow2');
  assert.equal(await diskImageOf(result({ image_id: 'local-x' }), dir), undefined);
  assert.equal(await diskImageOf(result(null, { builderId: 'mitchellh.openstack', files: [] }), dir), undefined);
  assert.equal(await diskImageOf(result({ disk_image: 'disk.img' }, undefined, 1), dir), undefined);
  await assert.rejects(diskImageOf(result({ disk_image: 'disk.img', disk_format: 'zip' }), dir), /^Error: custom_data\.disk_format: "zip" is not a Glance disk format/);
});

test('a disk file outside the repo is refused, however it is named: absolute, ../, a symlink out, a directory, missing', async () => {
  writeFileSync(join(top, 'secret.key'), 'not for Glance');
  symlinkSync(join(top, 'secret.key'), join(dir, 'link.img'));
  mkdirSync(join(dir, 'out'), { recursive: true });
  for (const [named, pattern] of [
    [join(top, 'secret.key'), /^Error: custom_data\.disk_image: .*secret\.key is outside the repo/],
    ['../secret.key', /is outside the repo/],
    ['out/../../secret.key', /is outside the repo/],
    ['link.img', /is outside the repo/],
    ['/etc/passwd', /is outside the repo/],
    ['out', /is not a regular file/],
    ['.', /is not a regular file/],
    ['missing.img', /missing\.img does not exist/],
  ] as const) {
    await assert.rejects(diskImageOf(result({ disk_image: named }), dir), pattern, named);
  }
  await assert.rejects(diskImageOf(result(null, { builderId: 'transcend.qemu', files: [join(top, 'secret.key')] }), dir), /^Error: the qemu artifact: .* is outside the repo/);
});
