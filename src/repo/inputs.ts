import type { Git } from './git.js';
import { fileText } from '../shared/profile-text.js';
import { isAncestor, listImageFiles, readBlobs } from './tree.js';

export { listImageFiles };

/** What the repo holds at the base the changes are computed on. */
export interface BaseView {
  commit: string | null;
  /** Texts of files at the base (repo-relative paths); absent files are left out. */
  readFiles(paths: string[]): Promise<Map<string, string>>;
}

/** Object ids of repo paths (files or folders) at a commit, in one `git ls-tree`; absent paths are left out. */
export async function readInputIds(git: Git, commit: string | null, paths: string[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  if (!commit || paths.length === 0) return ids;
  const { stdout } = await git.run(['ls-tree', '-z', '--full-tree', commit, '--', ...new Set(paths)]);
  for (const entry of stdout.split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab < 0) continue;
    const id = entry.slice(0, tab).split(' ')[2];
    if (id) ids.set(entry.slice(tab + 1), id);
  }
  return ids;
}

/**
 * The commit a pass builds on, as `ensureCommits` first chooses it: the local
 * branch, or the remote's tip when that is ahead. One rev-parse for both refs.
 */
export async function findBase(git: Git, branch: string, remote?: string): Promise<string | null> {
  const refs = ['HEAD', ...(remote ? [`refs/remotes/${remote}/${branch}`] : [])];
  const result = await git.run(['rev-parse', ...refs.map((ref) => `${ref}^{commit}`)], { allowFailure: true });
  // One of them does not resolve (an unborn branch, no remote-tracking ref yet): ask one by one.
  const [local, remoteTip] =
    result.code === 0
      ? result.stdout.trim().split('\n')
      : await Promise.all(refs.map(async (ref) => (await git.run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFailure: true })).stdout.trim()));
  if (!remoteTip || local === remoteTip) return local || null;
  if (!local || (await isAncestor(git, local, remoteTip))) return remoteTip;
  return local;
}

/** Bring the remote's branch into its remote-tracking ref (no work tree change); a remote without it yet is fine. */
export async function fetchBranch(git: Git, remote: string, branch: string): Promise<void> {
  const spec = `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`;
  const result = await git.run(['fetch', '--quiet', '--no-tags', remote, spec], { allowFailure: true });
  if (result.code !== 0 && !/couldn't find remote ref/i.test(result.stderr)) await git.run(['fetch', '--quiet', '--no-tags', remote, spec]); // throws, classified
}

/**
 * Files at a commit. `listing` (paths → blob ids, from `listImageFiles` of the same commit):
 * files in it are read by id; `<commit>:<path>` makes git walk the path, and each walk
 * through a large images/ tree inflates it again (808 manifests: 110 ms → a few).
 */
export function viewOf(git: Git, commit: string | null, listing?: Map<string, string>): BaseView {
  return {
    commit,
    async readFiles(paths) {
      if (!commit) return new Map();
      const names = paths.map((path) => listing?.get(path) ?? `${commit}:${path}`);
      const blobs = await readBlobs(git, names);
      return new Map(paths.flatMap((path, index) => {
        const bytes = blobs.get(names[index]!);
        return bytes === undefined ? [] : [[path, fileText(path, bytes)] as const];
      }));
    },
  };
}
