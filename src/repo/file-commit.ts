// One commit that rewrites one file on the remote's branch, without a work
// tree: read the file at the remote tip, compute its new text, write the tree
// with a private index, commit on the tip, push; a lost push race fetches and
// does it again on the new tip. Used for `promote.chain_source` (the
// source-image map advanced to a newly promoted image, `[skip ci]`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransientError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { createGit, type Git } from './git.js';

export interface FileCommitOptions {
  git: Git;
  env: NodeJS.ProcessEnv;
  remote: string;
  branch: string;
  /** Repo-relative path. */
  path: string;
  /** The file's new text from its current one (undefined when absent); null: nothing to change. */
  update(text: string | undefined): string | null;
  message: string;
  retries?: number;
  log: Logger;
}

/** Returns the pushed commit, or null when the file needed no change. */
export async function commitFile(options: FileCommitOptions): Promise<string | null> {
  const { git, remote, branch, path } = options;
  const dir = await mkdtemp(join(tmpdir(), 'packuilon-index-'));
  // a private index: the job's checkout and its index are never touched
  const indexed = createGit(git.dir, { ...options.env, GIT_INDEX_FILE: join(dir, 'index') });
  try {
    for (let attempt = 1; ; attempt++) {
      await git.run(['fetch', '--quiet', remote, `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`]);
      const tip = (await git.run(['rev-parse', `refs/remotes/${remote}/${branch}`])).stdout.trim();
      const current = await git.run(['show', `${tip}:${path}`], { allowFailure: true });
      const next = options.update(current.code === 0 ? current.stdout : undefined);
      if (next === null) return null;
      const blob = (await git.run(['hash-object', '-w', '--stdin'], { input: next })).stdout.trim();
      await indexed.run(['read-tree', tip]);
      await indexed.run(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`]);
      const tree = (await indexed.run(['write-tree'])).stdout.trim();
      const commit = (await git.run(['commit-tree', tree, '-p', tip, '-F', '-'], { input: options.message })).stdout.trim();
      const push = await git.run(['push', '--quiet', remote, `${commit}:refs/heads/${branch}`], { allowFailure: true });
      if (push.code === 0) return commit;
      if (attempt > (options.retries ?? 8)) throw new TransientError(`git push ${remote} ${branch} (${path}): still rejected after ${attempt} attempts`);
      options.log.info({ attempt, path }, 'push rejected: the branch moved; redoing the change on its new tip');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
