// The tests that run the shipped CLI (bin/packuilon.mjs → dist/bundle) must not run a stale build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const BUNDLE = join(ROOT, 'dist', 'bundle', 'packuilon.mjs');

/** The bundle is at least as new as every source file under src/. */
export function bundleIsFresh(): boolean {
  if (!existsSync(BUNDLE)) return false;
  const newest = Math.max(
    0,
    ...readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => statSync(join(ROOT, 'src', file)).mtimeMs),
  );
  return newest <= statSync(BUNDLE).mtimeMs;
}

/**
 * (Re)build when src/ is newer. scripts/test.sh has built it already, so this
 * runs only for a test started by hand: rebuilding under running tests would
 * pull the bundle from under them.
 */
export function ensureFreshBundle(): void {
  if (bundleIsFresh()) return;
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status}): ${build.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}
