import { redact } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Git } from './git.js';

/** Where a long pass sends its commits ahead of the branch; the branch itself moves once, at the end. */
const stagingRef = (branch: string) => `refs/packuilon/staging/${branch}`;

/** Commits in a stream before its first checkpoint; later ones wait for a quarter more (a first import of 3,680 commits: 12). */
export const STAGE_AFTER_COMMITS = 128;

/**
 * A long stream's commits sent to the remote while git is still writing the
 * later ones: the push at the end then carries only the tail, not the pass.
 * Staged pushes go to a ref of their own (no pipeline runs for it, the branch
 * moves once); one at a time, each from the newest checkpoint. It is only
 * ever a head start: a remote that refuses the ref, or any failure, leaves the
 * final push to carry everything, as without it.
 */
export interface StagedPush {
  /** A checkpoint's commit id as git reports it (undefined: the stream ended first). */
  offer(commit: Promise<string | undefined>): void;
  /** No more staging: waits for the push in flight, so no git outlives the pass. */
  settle(): Promise<void>;
}

/** Remotes (per repo handle, i.e. per pass) that refused a staged push: said once, not per checkpoint. */
const refusing = new WeakMap<Git, Set<string>>();

export function createStagedPush(git: Git, remote: string, branch: string, log: Logger): StagedPush {
  const ref = stagingRef(branch);
  let latest: string | undefined;
  let pushed: string | undefined;
  let inFlight: Promise<void> | undefined;
  let closed = false;
  const refused = () => refusing.get(git)?.has(remote) ?? false;

  const refuse = (reason: string) => {
    refusing.set(git, (refusing.get(git) ?? new Set()).add(remote));
    log.info({ branch, remote, reason: redact(reason).split('\n')[0]?.slice(0, 200) }, 'staged push refused: the final push carries every commit of the pass');
  };
  const kick = () => {
    if (inFlight || closed || refused() || !latest || latest === pushed) return;
    const commit = latest;
    inFlight = git
      .run(['push', '--quiet', '--force', remote, `${commit}:${ref}`], { allowFailure: true })
      .then(
        (result) => {
          if (result.code !== 0) return refuse(result.stderr.trim() || `git push exited ${result.code}`);
          pushed = commit;
          log.debug({ branch, remote, commit, ref }, 'commits staged on the remote');
        },
        (error: unknown) => refuse(error instanceof Error ? error.message : String(error)),
      )
      .finally(() => {
        inFlight = undefined;
        kick();
      });
  };
  return {
    offer(commit) {
      commit.then(
        (id) => {
          if (!id) return;
          latest = id;
          kick();
        },
        () => undefined,
      );
    },
    async settle() {
      closed = true;
      while (inFlight) await inFlight;
    },
  };
}
