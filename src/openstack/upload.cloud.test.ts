import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../shared/log.js';
import { sharedOpenstack, openrc } from '../../test/support/openstack.js';
import { createGlance, createSession, resolveCredentials } from './index.js';
import { uploadDiskImage } from './upload.js';

const { info, release } = await sharedOpenstack();
test.after(() => release());

const glance = () => createGlance(createSession({ credentials: resolveCredentials({ env: openrc(info, 'builder'), cwd: '/nonexistent' }), log: silentLogger() }));

test('a disk file streamed into Glance: active, private, its formats and properties, Glance\'s sha512 = the file\'s; a failed upload leaves no image', { timeout: 900_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'packuilon-upload-'));
  try {
    const file = join(dir, 'disk.qcow2');
    const bytes = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.alloc(3 * 1048576 + 17, 7)]);
    await writeFile(file, bytes);
    const store = glance();
    const name = `upload-${process.pid}-${Date.now()}`;
    const uploaded = await uploadDiskImage(store, { path: file, name, diskFormat: 'qcow2', containerFormat: 'bare', properties: { packuilon_image_key: 'k-sl7x-x86_64' } }, silentLogger());
    const image = (await store.get(uploaded.id)) as Record<string, unknown>;
    assert.equal(image.status, 'active');
    assert.equal(image.name, name);
    assert.equal(image.visibility, 'private');
    assert.equal(image.disk_format, 'qcow2');
    assert.equal(image.container_format, 'bare');
    assert.equal(image.packuilon_image_key, 'k-sl7x-x86_64');
    assert.equal(image.size, bytes.length);
    assert.equal(uploaded.sha512, createHash('sha512').update(bytes).digest('hex'));
    if (image.os_hash_algo === 'sha512') assert.equal(image.os_hash_value, uploaded.sha512);
    await store.remove(uploaded.id);

    // Cannot be read (a directory where the file should be): the image made for it is deleted.
    const broken = join(dir, 'not-a-file');
    await mkdir(broken);
    const brokenName = `${name}-broken`;
    await assert.rejects(
      uploadDiskImage(store, { path: broken, name: brokenName, diskFormat: 'raw', containerFormat: 'bare', properties: {} }, silentLogger()),
      (error: Error) => new RegExp(`^upload of ${broken.replace(/[/.-]/g, '\\$&')} to image [0-9a-f-]{36} failed: .*\\(the image was deleted\\)$`).test(error.message),
    );
    assert.deepEqual((await store.list({ name: brokenName })).map((i) => i.id), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
