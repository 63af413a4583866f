import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './cli.js';
import { git, gitEnv } from './git-repos.js';

const EXAMPLE = new URL('../../examples/site/profiles/', import.meta.url).pathname;

/**
 * A repo as `packuilon init` scaffolds it, built with the local Packer template
 * (no cloud), pushed to a bare `origin`, with the example site's images
 * committed by a real `detect` from `profiles/` (an index_dir).
 */
export async function localImageRepo(root: string): Promise<{ repo: string; profiles: string; remote: string }> {
  const profiles = join(root, 'profiles');
  cpSync(EXAMPLE, profiles, { recursive: true });
  const repo = join(root, 'repo');
  const remote = join(root, 'remote.git');
  const init = await runCli(['init', repo, '--index-dir', profiles, '--remote', 'origin'], { cwd: root, env: gitEnv });
  if (init.code !== 0) throw new Error(`init: ${init.stderr}`);
  writeFileSync(join(repo, 'templates', 'template-map.json'), `${JSON.stringify({ DEFAULT: ['templates/local.json'] }, null, 2)}\n`);
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'scaffold');
  git(repo, 'push', '--quiet', 'origin', 'main');
  const detect = await runCli(['detect'], { cwd: repo, env: gitEnv });
  if (detect.code !== 0) throw new Error(`detect: ${detect.stderr}`);
  return { repo, profiles, remote };
}
