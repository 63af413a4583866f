import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createDirectoryProfileSource, createHttpProfileSource, type ProfileSource } from './profile-source.js';
import { InputError, TransientError } from '../shared/errors.js';
import { tempDir } from '../../test/support/git-repos.js';
import { startAquilonServer, type AquilonServer } from '../../test/support/aquilon-server.js';
import { gzipBomb } from '../../test/support/gzip-bomb.js';

const CAP = 8 * 1024 * 1024;


describe('profile sources: bad bytes are the profile\'s error, memory is bounded', () => {
  const root = tempDir();
  const dir = join(root.path, 'profiles');
  let server: AquilonServer;
  let gzipServer: AquilonServer;
  const bombs = Array.from({ length: 16 }, (_, i) => `bomb${i}.json.gz`);

  before(async () => {
    mkdirSync(dir, { recursive: true });
    const bomb = await gzipBomb();
    for (const name of bombs) writeFileSync(join(dir, name), bomb);
    writeFileSync(join(dir, 'ok.json.gz'), gzipSync('{"ok": true}'));
    writeFileSync(join(dir, 'cut.json.gz'), gzipSync('{"ok": true}'.repeat(100)).subarray(0, 30));
    writeFileSync(join(dir, 'plain.json.gz'), '{"plain": true}');
    writeFileSync(join(dir, 'big.json'), Buffer.alloc(CAP + 1, 0x20));
    writeFileSync(join(dir, 'zeros.json'), Buffer.alloc(64 * 1024 * 1024));
    writeFileSync(join(dir, 'profiles-info.xml'), "<profiles><profile mtime='1'>ok.json.gz</profile></profiles>\n");
    server = await startAquilonServer({ dir });
    gzipServer = await startAquilonServer({ dir, gzip: true });
  });
  after(async () => {
    await server?.close();
    await gzipServer?.close();
    root.remove();
  });

  const sourceOf = (what: string): ProfileSource =>
    what === 'index_dir' ? createDirectoryProfileSource(dir, CAP) : createHttpProfileSource({ indexUrl: server.indexUrl, timeoutSeconds: 30, retries: 2, maxBytes: CAP });

  for (const what of ['index_dir', 'HTTP']) {
    it(`${what}: 16 gzip bombs at once are 16 input errors, and memory stays bounded`, async () => {
      const source = sourceOf(what);
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const results = await Promise.allSettled(bombs.map((name) => source.readProfile(name)));
      clearInterval(sampler);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        const error = (result).reason;
        assert.ok(error instanceof InputError && /decompresses to more than 8388608 bytes/.test(error.message), String(error));
      }
      // Inflated whole, 16 × 1 GiB; capped, at most 16 × 8 MiB (plus the compressed bytes).
      assert.ok(peak - before < 400 * 1024 * 1024, `RSS grew ${((peak - before) / 1048576).toFixed(0)} MiB`);
      source.close();
    });
  }

  for (const what of ['index_dir', 'HTTP']) {
    it(`${what}: cut, not gzip, and over the cap are input errors; a good .gz is read`, async () => {
      const source = sourceOf(what);
      assert.deepEqual(JSON.parse((await source.readProfile('ok.json.gz')).toString()), { ok: true });
      await assert.rejects(source.readProfile('cut.json.gz'), (error: unknown) => error instanceof InputError && /not a usable \.gz file: cut short/.test(error.message));
      await assert.rejects(source.readProfile('plain.json.gz'), (error: unknown) => error instanceof InputError && /not a usable \.gz file: not gzip data/.test(error.message));
      await assert.rejects(source.readProfile('big.json'), (error: unknown) => error instanceof InputError && /larger than|more than/.test(error.message));
      source.close();
    });
  }

  it('index_dir: a file that is not there is transient (the directory may be being rewritten)', async () => {
    await assert.rejects(createDirectoryProfileSource(dir, CAP).readProfile('gone.json'), TransientError);
  });

  it('HTTP: a Content-Encoding: gzip body that inflates past the cap is an input error, not retried', async () => {
    const source = createHttpProfileSource({ indexUrl: gzipServer.indexUrl, timeoutSeconds: 30, retries: 3, maxBytes: CAP });
    await assert.rejects(source.readProfile('zeros.json'), (error: unknown) => error instanceof InputError && /as served: decompresses to more than 8388608 bytes/.test(error.message));
    assert.equal(gzipServer.requests.get('zeros.json'), 1);
    source.close();
  });
});
