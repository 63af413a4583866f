// What the shipped bundle holds, where it costs every start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ensureFreshBundle } from '../support/bundle.js';

test('the bundle keeps zod\'s English messages only (every locale was ~350 KB parsed at each start), and they are used', () => {
  ensureFreshBundle();
  const dir = join(ROOT, 'dist', 'bundle');
  const sources = readdirSync(dir)
    .filter((file) => file.endsWith('.mjs.map'))
    .flatMap((file) => (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { sources: string[] }).sources);
  const locales = sources.filter((source) => /zod\/v4\/locales\//.test(source)).map((source) => source.replace(/.*zod\/v4\/locales\//, ''));
  assert.deepEqual([...new Set(locales)], ['en.js']);
  // the English message of a type check reaches the user from the bundle
  const dir_ = mkdtempSync(join(tmpdir(), 'packuilon-bundle-'));
  try {
    writeFileSync(join(dir_, 'packuilon.yaml'), 'aquilon:\n  index_url: http://127.0.0.1:9/p.xml\n  concurrency: many\n');
    const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'packuilon.mjs'), 'detect'], { cwd: dir_, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /aquilon\.concurrency: .*expected number, received string/, result.stderr);
  } finally {
    rmSync(dir_, { recursive: true, force: true });
  }
});
