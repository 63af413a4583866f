import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Environment for test git processes: no user config, a fixed identity. */
export const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test Operator',
  GIT_AUTHOR_EMAIL: 'operator@example.org',
  GIT_COMMITTER_NAME: 'Packuilon Test',
  GIT_COMMITTER_EMAIL: 'packuilon@example.org',
};

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: gitEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function tempDir(prefix = 'packuilon-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A bare remote and one clone of it on branch main, with one initial commit pushed. */
export function repoWithRemote(root: string, name = 'work'): { remote: string; work: string } {
  const remote = join(root, 'remote.git');
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote], { env: gitEnv });
  const work = join(root, name);
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', work], { env: gitEnv });
  git(work, 'remote', 'add', 'origin', remote);
  git(work, 'commit', '--quiet', '--allow-empty', '-m', 'initial');
  git(work, 'push', '--quiet', 'origin', 'main');
  return { remote, work };
}

export function cloneOf(remote: string, target: string): string {
  execFileSync('git', ['clone', '--quiet', remote, target], { env: gitEnv });
  return target;
}
