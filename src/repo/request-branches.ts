import type { ImageChange } from '../model.js';
import { gitBlobId } from '../shared/digest.js';
import { ConfigError, TransientError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { BaseView, EnsureCommitsResult } from './ensure-commits.js';
import type { Git } from './git.js';
import { listImageFiles, readTexts } from './tree.js';
import { commitMessage } from './trailers.js';
import { committerIdentity } from './commit-writer.js';

export const REQUEST_BRANCH_PREFIX = 'packuilon/';

/** A `packuilon/<key>` branch as the remote has it. */
export interface RequestBranch {
  key: string;
  branch: string;
  tip: string;
  /** Its changes are in the default branch already (merged, or equal): nothing to review. */
  merged: boolean;
  /** Someone committed on it by hand: the tool leaves it alone (Renovate's rule). */
  humanCommit: string | null;
  /** Subject and body of the tip commit. */
  message: string;
}

export interface RequestBranchesView {
  defaultTip: string | null;
  branches: Map<string, RequestBranch>;
}

/**
 * One fetch brings the default branch and every `packuilon/*` branch
 * (pruned, so a branch deleted on the forge is gone here too).
 */
export async function fetchRequestBranches(git: Git, remote: string, defaultBranch: string): Promise<RequestBranchesView> {
  const tracking = `refs/remotes/${remote}`;
  const fetched = await git.run(
    ['fetch', '--quiet', '--no-tags', '--prune', remote, `+refs/heads/${defaultBranch}:${tracking}/${defaultBranch}`, `+refs/heads/${REQUEST_BRANCH_PREFIX}*:${tracking}/${REQUEST_BRANCH_PREFIX}*`],
    { allowFailure: true },
  );
  if (fetched.code !== 0) {
    if (/couldn't find remote ref/i.test(fetched.stderr)) {
      throw new ConfigError(`repo.branch: ${remote} has no branch ${defaultBranch}; merge requests need a default branch to target`);
    }
    await git.run(['fetch', '--quiet', '--no-tags', '--prune', remote, `+refs/heads/${defaultBranch}:${tracking}/${defaultBranch}`]); // throws, classified
  }
  const defaultTip = (await git.run(['rev-parse', '--verify', '--quiet', `${tracking}/${defaultBranch}^{commit}`], { allowFailure: true })).stdout.trim() || null;
  const listed = await git.run(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(contents)%00%00', `${tracking}/${REQUEST_BRANCH_PREFIX}`]);
  const found: { key: string; branch: string; tip: string; message: string }[] = [];
  for (const record of listed.stdout.split('\0\0\n')) {
    const [ref, tip, message] = record.split('\0') as [string, string | undefined, string | undefined];
    if (!ref || !tip) continue;
    const branch = ref.slice(tracking.length + 1);
    const key = branch.slice(REQUEST_BRANCH_PREFIX.length);
    if (!/^[A-Za-z0-9._-]+$/.test(key)) continue; // not a branch this tool makes
    found.push({ key, branch, tip, message: message ?? '' });
  }
  const ahead = await commitsAhead(git, defaultTip, found.map(({ tip }) => tip));
  const branches = new Map<string, RequestBranch>();
  for (const { key, branch, tip, message } of found) {
    // The branch's own commits: from its tip back while not on the default branch.
    const own: { id: string; trigger: string }[] = [];
    for (let id: string | undefined = tip; id && ahead.has(id) && own.length < 1000; id = ahead.get(id)!.parent) own.push({ id, trigger: ahead.get(id)!.trigger });
    // Every commit the tool makes has a Trigger: trailer; one without it was made by a person.
    const human = own.find(({ trigger }) => !trigger.trim());
    branches.set(key, { key, branch, tip, merged: own.length === 0, humanCommit: human ? human.id : null, message });
  }
  return { defaultTip, branches };
}

/** Commits reachable from the tips and not from the default branch, in one `git log`: id → first parent, Trigger trailer. */
async function commitsAhead(git: Git, defaultTip: string | null, tips: string[]): Promise<Map<string, { parent: string | undefined; trigger: string }>> {
  const commits = new Map<string, { parent: string | undefined; trigger: string }>();
  if (!tips.length) return commits;
  const revisions = [...new Set(tips), ...(defaultTip ? [`^${defaultTip}`] : [])];
  const log = await git.run(['log', '--stdin', '--format=%H%x1f%P%x1f%(trailers:key=Trigger,valueonly,separator=%x2c)%x1e'], { input: `${revisions.join('\n')}\n` });
  for (const entry of log.stdout.split('\x1e')) {
    const [id, parents, trigger] = entry.trim().split('\x1f') as [string, string | undefined, string | undefined];
    if (id) commits.set(id, { parent: parents?.split(' ')[0] || undefined, trigger: trigger ?? '' });
  }
  return commits;
}

/** A request branch the tool may build on and rewrite. */
export function isLive(branch: RequestBranch | undefined): branch is RequestBranch {
  return branch !== undefined && !branch.merged && branch.humanCommit === null;
}

export interface EnsureRequestBranchesOptions {
  git: Git;
  remote: string;
  branch: string;
  pushRetries: number;
  log: Logger;
  now?: () => Date;
  prepare(base: BaseView): Promise<Iterable<ImageChange>>;
}

export interface EnsureRequestBranchesResult extends EnsureCommitsResult {
  view: RequestBranchesView;
  /** Keys whose branch was deleted because the render equals the default branch again. */
  deleted: string[];
  /** Keys left alone because a person committed on their branch. */
  handsOff: string[];
}

/**
 * Merge-request mode's commit path: each changed image becomes one commit on
 * top of the default branch's tip, on branch `packuilon/<key>`, force-pushed
 * with a lease on the tip we saw (so nobody's push is overwritten unseen).
 * An image whose render equals the default branch again loses its branch.
 * The previous render comes from the image's live branch, so successive
 * changes of one image accumulate in one request.
 */
export async function ensureRequestBranches(options: EnsureRequestBranchesOptions): Promise<EnsureRequestBranchesResult> {
  const { git, remote, log } = options;
  for (let attempt = 1; ; attempt++) {
    const view = await fetchRequestBranches(git, remote, options.branch);
    const base = view.defaultTip;
    const sourceOf = (path: string): string | null => {
      const key = /^images\/([^/]+)\//.exec(path)?.[1];
      const live = key ? view.branches.get(key) : undefined;
      return isLive(live) ? live.tip : base;
    };
    const readView: BaseView = {
      commit: base,
      readFiles: async (paths) => {
        const names = paths.flatMap((path) => {
          const commit = sourceOf(path);
          return commit ? [{ path, name: `${commit}:${path}` }] : [];
        });
        const blobs = await readTexts(git, names.map(({ name }) => name));
        return new Map(names.flatMap(({ path, name }) => (blobs.has(name) ? [[path, blobs.get(name)!] as const] : [])));
      },
    };
    const changes = await options.prepare(readView);
    const onDefault = await listImageFiles(git, base);
    const toWrite: ImageChange[] = [];
    const toDelete: { key: string; tip: string }[] = [];
    const handsOff: string[] = [];
    for (const change of changes) {
      const existing = view.branches.get(change.key);
      if (existing?.humanCommit) {
        handsOff.push(change.key);
        continue;
      }
      if (!differsFrom(change, onDefault)) {
        if (existing) toDelete.push({ key: change.key, tip: existing.tip });
        continue;
      }
      if (isLive(existing) && (await sameRenderOnBase(git, existing, base, change))) continue;
      toWrite.push(change);
    }
    const heads = toWrite.length ? await writeBranchCommits(git, base, toWrite, await committerIdentity(git, options.now?.() ?? new Date())) : new Map<string, string>();
    const refspecs = [
      ...toWrite.map((change) => ({ key: change.key, lease: view.branches.get(change.key)?.tip ?? '', source: heads.get(change.key)! })),
      ...toDelete.map(({ key, tip }) => ({ key, lease: tip, source: '' })),
    ];
    if (refspecs.length) {
      const outcome = await pushWithLease(git, remote, refspecs);
      if (outcome === 'rejected') {
        if (attempt > options.pushRetries) throw new TransientError(`git push to ${remote} (${REQUEST_BRANCH_PREFIX}*): still rejected after ${attempt} attempts; will retry`);
        log.info({ attempt }, 'request branch push rejected: the remote moved, preparing again');
        continue;
      }
    }
    for (const change of toWrite) log.info({ imageKey: change.key, branch: `${REQUEST_BRANCH_PREFIX}${change.key}` }, 'request branch pushed');
    for (const { key } of toDelete) log.info({ imageKey: key, branch: `${REQUEST_BRANCH_PREFIX}${key}` }, 'request branch deleted: the render equals the default branch again');
    for (const key of handsOff) log.warn({ imageKey: key, branch: `${REQUEST_BRANCH_PREFIX}${key}` }, 'request branch has a commit made by hand: left alone');
    // What the remote holds now, without asking it again: the pushed tips, minus the deleted branches.
    const after: RequestBranchesView = { defaultTip: base, branches: new Map(view.branches) };
    for (const { key } of toDelete) after.branches.delete(key);
    for (const change of toWrite) {
      after.branches.set(change.key, { key: change.key, branch: `${REQUEST_BRANCH_PREFIX}${change.key}`, tip: heads.get(change.key)!, merged: false, humanCommit: null, message: commitMessage(change) });
    }
    return {
      commits: toWrite.map((change) => ({ key: change.key, change })),
      head: base,
      pushed: refspecs.length > 0,
      attempts: attempt,
      view: after,
      deleted: toDelete.map(({ key }) => key),
      handsOff,
    };
  }
}

function differsFrom(change: ImageChange, tree: Map<string, string>): boolean {
  const prefix = `images/${change.key}/`;
  const present = [...tree.keys()].filter((path) => path.startsWith(prefix));
  if (present.length !== change.files.length) return true;
  return change.files.some((file) => tree.get(`images/${file.path}`) !== gitBlobId(file.content));
}

/** The branch already holds exactly this render, on the current default tip: nothing to push. */
async function sameRenderOnBase(git: Git, branch: RequestBranch, base: string | null, change: ImageChange): Promise<boolean> {
  const parent = (await git.run(['rev-parse', '--verify', '--quiet', `${branch.tip}^`], { allowFailure: true })).stdout.trim();
  if (!base || parent !== base) return false;
  return !differsFrom(change, await listImageFiles(git, branch.tip));
}

/** One `git fast-import` writes every image's commit, each on top of `base`, on a private ref per key. */
async function writeBranchCommits(git: Git, base: string | null, changes: ImageChange[], committer: string): Promise<Map<string, string>> {
  const chunks: Buffer[] = [];
  const add = (text: string | Buffer) => chunks.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  for (const change of changes) {
    const ref = `refs/packuilon/requests/${change.key}`;
    const message = Buffer.from(commitMessage(change), 'utf8');
    add(`reset ${ref}\n`);
    add(`commit ${ref}\ncommitter ${committer}\ndata ${message.length}\n`);
    add(message);
    add('\n');
    if (base) add(`from ${base}\n`);
    add(`D images/${change.key}\n`);
    for (const file of change.files) {
      const content = Buffer.from(file.content, 'utf8');
      add(`M 100644 inline images/${file.path}\ndata ${content.length}\n`);
      add(content);
      add('\n');
    }
    add('\n');
  }
  add('done\n');
  await git.run(['fast-import', '--quiet', '--force', '--done'], { input: Buffer.concat(chunks) });
  const refs = changes.map((change) => `refs/packuilon/requests/${change.key}`);
  const { stdout } = await git.run(['rev-parse', ...refs]);
  const ids = stdout.trim().split('\n');
  return new Map(changes.map((change, index) => [change.key, ids[index]!]));
}

/** One atomic push: all branches move (or go) together, each only from the tip we saw. */
async function pushWithLease(git: Git, remote: string, refspecs: { key: string; lease: string; source: string }[]): Promise<'pushed' | 'rejected'> {
  const args = ['push', '--porcelain', '--quiet', '--atomic', remote];
  for (const { key, lease, source } of refspecs) {
    const ref = `refs/heads/${REQUEST_BRANCH_PREFIX}${key}`;
    args.push(`--force-with-lease=${ref}:${lease}`, `${source ? `+${source}` : ''}:${ref}`);
  }
  const result = await git.run(args, { allowFailure: true });
  if (result.code === 0) return 'pushed';
  if (/\[rejected\]|stale info|\(fetch first\)|atomic push failed|\[remote rejected\].*(cannot lock ref|failed to update ref)/.test(result.stdout + result.stderr)) return 'rejected';
  await git.run(args); // throws, classified
  return 'pushed';
}

/** Deletes request branches whose changes the default branch has (merged requests), leased on their tips. */
export async function deleteMergedBranches(git: Git, remote: string, branches: RequestBranch[]): Promise<void> {
  if (!branches.length) return;
  await pushWithLease(git, remote, branches.map((branch) => ({ key: branch.key, lease: branch.tip, source: '' })));
}

/** Texts of files at a commit (repo-relative paths); absent ones are left out. */
export async function readFilesAt(git: Git, commit: string | null, paths: string[]): Promise<Map<string, string>> {
  if (!commit || !paths.length) return new Map();
  const blobs = await readTexts(git, paths.map((path) => `${commit}:${path}`));
  return new Map(paths.flatMap((path) => (blobs.has(`${commit}:${path}`) ? [[path, blobs.get(`${commit}:${path}`)!] as const] : [])));
}

/** The build files of an image at a commit: names inside images/<key>/. */
export async function imageFilesAt(git: Git, commit: string, key: string): Promise<string[]> {
  const files = await listImageFiles(git, commit);
  const prefix = `images/${key}/`;
  return [...files.keys()].filter((path) => path.startsWith(prefix)).map((path) => path.slice(prefix.length)).sort();
}
