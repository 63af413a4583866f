import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { whatFailed } from './build-inputs.js';

const KEY = 'web-sl7x-x86_64';

function outWith(files: Record<string, unknown>): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'packuilon-out-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const built = { key: KEY, commit: 'c', builds: [{ file: 'managed.json', image_name: 'Next-web', image_id: 'img-1', exit_code: 0 }] };

describe('whatFailed: what the records of a failed chain say happened to the image', () => {
  it('a failed test: rejected, with the images it judged and its reasons', async () => {
    using out = outWith({ 'build.json': built, 'test.json': { key: KEY, verdict: 'fail', reasons: ['sla failure_rate'], image_ids: ['img-1'] } });
    assert.deepEqual(await whatFailed(out.dir, KEY), { outcome: 'rejected', imageIds: ['img-1'], reasons: ['sla failure_rate'] });
  });

  it('a test that could not say (error) or passed: nothing final, and why', async () => {
    using out = outWith({ 'build.json': built, 'test.json': { key: KEY, verdict: 'error', reasons: ['Keystone down'] } });
    assert.deepEqual(await whatFailed(out.dir, KEY), { outcome: 'none', why: "the test's verdict is error (Keystone down): only a failed test rejects an image" });
    using passed = outWith({ 'build.json': built, 'test.json': { key: KEY, verdict: 'pass', reasons: [] } });
    assert.equal((await whatFailed(passed.dir, KEY)).outcome, 'none');
  });

  it('no build record, a build that failed or made no image: build-failed', async () => {
    using none = outWith({});
    assert.match(JSON.stringify(await whatFailed(none.dir, KEY)), /"outcome":"build-failed","why":"no .*build\.json: the build did not run to its end"/);
    using failed = outWith({ 'build.json': { ...built, builds: [{ ...built.builds[0], exit_code: 1, image_id: null }] } });
    assert.deepEqual(await whatFailed(failed.dir, KEY), { outcome: 'build-failed', why: 'managed.json made no image' });
  });

  it('a built image and no test record: nothing final (the test did not run to its end)', async () => {
    using out = outWith({ 'build.json': built });
    assert.match((await whatFailed(out.dir, KEY)).outcome, /^none$/);
  });

  it("another key's test record is not this image's verdict; a broken record names its file", async () => {
    using other = outWith({ 'build.json': built, 'test.json': { key: 'other', verdict: 'fail', reasons: [] } });
    assert.equal((await whatFailed(other.dir, KEY)).outcome, 'none');
    using broken = outWith({ 'test.json': '{"key": ' });
    await assert.rejects(whatFailed(broken.dir, KEY), (error: Error) => error.message.startsWith(`${join(broken.dir, 'test.json')}: not JSON`));
  });
});
