import type { ImageChange } from '../model.js';
import { gitBlobId } from '../shared/digest.js';
import { realpathSync } from 'node:fs';
import { ConfigError, ToolError, TransientError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { committerIdentity, openCommitStream, type CommitStream } from './commit-writer.js';
import type { Git } from './git.js';
import { viewOf, type BaseView } from './inputs.js';
import { createStagedPush, STAGE_AFTER_COMMITS } from './staged-push.js';
import { filesByKey, isAncestor, listImageFiles, resolveRef } from './tree.js';

export type { BaseView };

export interface EnsureCommitsOptions {
  git: Git;
  branch: string;
  remote?: string;
  pushRetries: number;
  /**
   * Keep the work tree in step with the branch (`merge --ff-only`) [true]; false: a
   * service clone nobody works in, the branch ref alone moves (`update-ref`).
   */
  checkout?: boolean;
  log: Logger;
  now?: () => Date;
  /**
   * Computes the changes against a base; called again on the new base after a lost push race.
   * An iterable is consumed lazily: each change is streamed into git as it is produced,
   * so a generator that renders one image per step holds one image at a time.
   * `expected`: how many it will yield at most, when known (no staged push just before the end).
   */
  prepare(base: BaseView): Promise<Iterable<ImageChange> & { expected?: number }>;
  /** Called after each commit is handed to git, with the number written so far. */
  onCommitted?(count: number): void;
  /** Commits before a long stream starts sending them ahead to the remote (staged-push.ts) [128]. */
  stageAfter?: number;
}

/** What a commit was, without its files (a first import writes thousands: they are not kept). */
export type CommitSummary = Pick<ImageChange, 'key' | 'subject' | 'trailers'>;

export interface EnsureCommitsResult {
  commits: { key: string; change: CommitSummary }[];
  head: string | null;
  pushed: boolean;
  attempts: number;
}

/**
 * Converge the branch (and the remote's) on the prepared changes: one commit
 * per image change, none for identical bytes, pushed when a remote is set.
 * Optimistic: the first attempt builds on what is known locally, without a
 * fetch; a rejected push is a race or a stale clone: fetch, prepare again on
 * the remote's tip, retry. One writer pays no fetch per batch.
 */
export async function ensureCommits(options: EnsureCommitsOptions): Promise<EnsureCommitsResult> {
  const { git, branch, remote, log } = options;
  await assertOnBranch(git, branch);
  for (let attempt = 1; ; attempt++) {
    const local = await resolveRef(git, 'HEAD');
    const remoteTip = !remote ? null : attempt === 1 ? await resolveRef(git, `refs/remotes/${remote}/${branch}`) : await fetchTip(git, remote, branch);
    const base = await chooseBase(git, local, remoteTip);
    const tree = await listImageFiles(git, base);
    const view = viewOf(git, base, tree);
    const counts = filesByKey(tree);
    const { commits, head } = await writeChanges(options, base, await options.prepare(view), (change) => differs(change, tree, counts));
    let pushed = false;
    if (remote && head && head !== remoteTip) {
      const outcome = await push(git, remote, head, branch);
      if (outcome === 'rejected') {
        if (attempt > options.pushRetries) throw new TransientError(`git push to ${remote}/${branch}: still rejected after ${attempt} attempts (others keep pushing); will retry`);
        log.info({ attempt, branch }, 'push rejected: remote moved, preparing again on its new tip');
        await sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      pushed = true;
    }
    if (head && head !== local) await moveBranch(git, branch, head, local, options.checkout ?? true);
    return { commits, head, pushed, attempts: attempt };
  }
}

/** Stream the changes that differ from the base into one fast-import, opened at the first one. */
async function writeChanges(
  options: EnsureCommitsOptions,
  base: string | null,
  changes: Iterable<ImageChange> & { expected?: number },
  keep: (change: ImageChange) => boolean,
): Promise<{ commits: { key: string; change: CommitSummary }[]; head: string | null }> {
  const commits: { key: string; change: CommitSummary }[] = [];
  let stream: CommitStream | undefined;
  const staged = options.remote ? createStagedPush(options.git, options.remote, options.branch, options.log) : undefined;
  const stageAfter = options.stageAfter ?? STAGE_AFTER_COMMITS;
  let checkpointAt = 0;
  try {
    for (const change of changes) {
      if (!keep(change)) continue;
      stream ??= await openCommitStream(options.git, base, await committerIdentity(options.git, options.now?.() ?? new Date()));
      await stream.write(change);
      commits.push({ key: change.key, change: { key: change.key, subject: change.subject, trailers: change.trailers } });
      options.onCommitted?.(commits.length);
      const nearEnd = changes.expected !== undefined && changes.expected - commits.length < stageAfter / 2;
      if (staged && !nearEnd && commits.length - checkpointAt >= Math.max(stageAfter, checkpointAt / 4)) {
        checkpointAt = commits.length;
        staged.offer(stream.checkpoint());
      }
    }
    const head = stream ? await stream.finish() : base;
    await staged?.settle();
    return { commits, head };
  } catch (error) {
    await stream?.abort();
    await staged?.settle();
    throw error;
  }
}

/** The local branch onto the pushed head: with its work tree, or the ref alone (checked against the tip it was). */
async function moveBranch(git: Git, branch: string, head: string, local: string | null, checkout: boolean): Promise<void> {
  if (checkout) await git.run(['merge', '--ff-only', '--quiet', head]);
  else await git.run(['update-ref', '-m', 'packuilon: image commits', `refs/heads/${branch}`, head, local ?? '']);
}

const checkedRoots = new WeakSet<Git>();

async function assertOnBranch(git: Git, branch: string): Promise<void> {
  if (!checkedRoots.has(git)) await assertRepositoryRoot(git);
  checkedRoots.add(git);
  const head = await git.run(['symbolic-ref', '--quiet', 'HEAD'], { allowFailure: true });
  if (head.stdout.trim() !== `refs/heads/${branch}`) {
    // Not a failure that a retry mends: the config and the clone disagree, an operator must act (exit 2).
    const exists = (await git.run(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { allowFailure: true })).code === 0;
    const current = head.stdout.trim().replace(/^refs\/heads\//, '') || 'a detached HEAD';
    throw new ConfigError(
      exists
        ? `repo.branch: ${branch} is not checked out in ${git.dir} (it is on ${current}); git checkout ${branch} there, or set repo.branch`
        : `repo.branch: the repo ${git.dir} has no branch ${branch} (it is on ${current}); set repo.branch to its branch, or create ${branch}`,
    );
  }
}

async function assertRepositoryRoot(git: Git): Promise<void> {
  // images/ is written at the top of the repository: a repo.path inside another repo would write there.
  const top = await git.run(['rev-parse', '--show-toplevel'], { allowFailure: true });
  if (top.code !== 0 || realpathSync(top.stdout.trim()) !== realpathSync(git.dir)) {
    throw new ConfigError(`repo.path: ${git.dir} is not the top of a git repository${top.code === 0 ? ` (it is inside ${top.stdout.trim()})` : ''}; run git init there or packuilon init`);
  }
}

async function fetchTip(git: Git, remote: string, branch: string): Promise<string | null> {
  const ref = `refs/remotes/${remote}/${branch}`;
  const result = await git.run(['fetch', '--quiet', '--no-tags', remote, `+refs/heads/${branch}:${ref}`], { allowFailure: true });
  if (result.code !== 0) {
    // A remote without the branch yet is a first push, not a failure.
    if (/couldn't find remote ref/i.test(result.stderr)) return null;
    await git.run(['fetch', '--quiet', '--no-tags', remote, `+refs/heads/${branch}:${ref}`]); // throws, classified
  }
  return resolveRef(git, ref);
}

/** Start from the remote's tip, keeping local commits that are not there yet. */
async function chooseBase(git: Git, local: string | null, remoteTip: string | null): Promise<string | null> {
  if (!remoteTip || local === remoteTip) return local;
  if (!local || (await isAncestor(git, local, remoteTip))) return remoteTip;
  if (await isAncestor(git, remoteTip, local)) return local;
  const rebase = await git.run(['rebase', '--quiet', remoteTip], { allowFailure: true });
  if (rebase.code !== 0) {
    await git.run(['rebase', '--abort'], { allowFailure: true });
    throw new ToolError('git rebase', rebase.code, `the local branch has diverged from the remote and cannot be rebased: ${rebase.stderr}`);
  }
  return resolveRef(git, 'HEAD');
}


function differs(change: ImageChange, tree: Map<string, string>, counts: Map<string, number>): boolean {
  if ((counts.get(change.key) ?? 0) !== change.files.length) return true;
  return change.files.some((file) => tree.get(`images/${file.path}`) !== gitBlobId(file.content));
}

async function push(git: Git, remote: string, head: string, branch: string): Promise<'pushed' | 'rejected'> {
  const result = await git.run(['push', '--porcelain', '--quiet', remote, `${head}:refs/heads/${branch}`], { allowFailure: true });
  if (result.code === 0) return 'pushed';
  if (/\[rejected\]|\(fetch first\)|non-fast-forward|\[remote rejected\].*(cannot lock ref|failed to update ref)/.test(result.stdout + result.stderr)) return 'rejected';
  await git.run(['push', '--porcelain', '--quiet', remote, `${head}:refs/heads/${branch}`]); // throws, classified
  return 'pushed';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
