// The V8 start-up snapshot bin/packuilon starts from: dist/snapshot/packuilon.cjs
// (`detect`'s code as one CommonJS file, built by scripts/bundle.mjs) evaluated by
// `node --build-snapshot`, so the modules `detect` loads are compiled and evaluated
// once here rather than at every start. A blob runs only in the node binary that made it
// (another one crashes before any of our code runs) and names this directory's files,
// so `identity` records both and the launcher compares them before it uses the blob.
//   node scripts/snapshot.mjs [package dir]   (npm run build runs it; the bench, for its copy)
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What bin/packuilon compares: `stat -L -c '%s %Y %i'` of the node on PATH, and the package dir. */
export function identityOf(nodeBinary, root) {
  const info = statSync(nodeBinary);
  return `${info.size} ${Math.floor(info.mtimeMs / 1000)} ${info.ino} ${root}`;
}

/** Returns false (with the reason on stderr) when this node cannot make one: the launcher then starts the ESM bundle. */
export function makeSnapshot(root) {
  const dir = join(root, 'dist', 'snapshot');
  const blob = join(dir, 'packuilon.blob');
  const identity = join(dir, 'identity');
  rmSync(identity, { force: true });
  rmSync(blob, { force: true });
  // The builtins the bundle loads (child_process, worker_threads, module) are "not yet fully
  // verified" in snapshots, node warns; the e2e tests run the commands from the snapshot.
  const made = spawnSync(process.execPath, ['--no-warnings', '--snapshot-blob', `${blob}.tmp`, '--build-snapshot', join(dir, 'packuilon.cjs')], { cwd: dir, encoding: 'utf8' });
  if (made.status !== 0) {
    rmSync(`${blob}.tmp`, { force: true });
    process.stderr.write(`snapshot: not made (${made.status ?? made.signal}): ${(made.stderr || '').trim().split('\n').slice(0, 3).join(' | ')}; bin/packuilon starts the ESM bundle\n`);
    return false;
  }
  renameSync(`${blob}.tmp`, blob);
  // Last: a blob without its identity is never used.
  writeFileSync(identity, `${identityOf(process.execPath, root)}\n`);
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  makeSnapshot(resolve(process.argv[2] ?? join(fileURLToPath(import.meta.url), '..', '..')));
}
