import type { Git } from './git.js';
import { parseTrailerLines } from './trailers.js';

/** One commit of a range, with the paths it touched (against its first parent). */
export interface RangeCommit {
  commit: string;
  subject: string;
  trailers: { key: string; value: string }[];
  paths: string[];
}

export interface PathChange {
  /** A added, M modified, D deleted, T type changed (renames are split: --no-renames). */
  status: string;
  path: string;
}

const RECORD = '\u001e';

/**
 * Commits reachable from `to` and not from `from` (all of `to`'s history when
 * `from` is null), newest first, that touched a path under one of `prefixes`.
 *
 * A commit Packuilon wrote (subject `images(<key>): …` and a `Trigger:`
 * trailer) changes that one image folder and nothing else, so its paths are
 * taken from the subject: diffing a 4,000-folder images/ tree for each of
 * 1,000 commits costs more than the whole plan may. Other commits are diffed,
 * in one `git diff-tree --stdin`.
 */
export async function readRangeCommits(git: Git, from: string | null, to: string, prefixes: string[]): Promise<RangeCommit[]> {
  const range = from ? [`${from}..${to}`] : [to];
  const { stdout } = await git.run(['log', '--topo-order', `--format=${RECORD}%H%x00%s%x00%(trailers:only,unfold)`, ...range, '--']);
  const commits: RangeCommit[] = [];
  const unknown: RangeCommit[] = [];
  for (const record of stdout.split(RECORD)) {
    if (!record.trim()) continue;
    const [commit = '', subject = '', trailerText = ''] = record.split('\0');
    const entry: RangeCommit = { commit: commit.trim(), subject, trailers: parseTrailerLines(trailerText), paths: [] };
    const key = /^images\(([^)/]+)\):/.exec(subject)?.[1];
    if (key && entry.trailers.some((t) => t.key === 'Trigger')) entry.paths.push(`images/${key}/`);
    else unknown.push(entry);
    commits.push(entry);
  }
  if (unknown.length) {
    const byCommit = new Map(unknown.map((entry) => [entry.commit, entry]));
    const diff = await git.run(['-c', 'core.quotePath=false', 'diff-tree', '--stdin', '-r', '--root', '--no-renames', '--name-only'], { input: `${unknown.map((e) => e.commit).join('\n')}\n` });
    let current: RangeCommit | undefined;
    for (const line of diff.stdout.split('\n')) {
      if (!line) continue;
      const next = byCommit.get(line);
      if (next) current = next;
      else if (current) current.paths.push(line);
    }
  }
  const wanted = (path: string) => prefixes.some((prefix) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix));
  for (const entry of commits) entry.paths = entry.paths.filter(wanted);
  return commits.filter((entry) => entry.paths.length > 0);
}

/** The paths that differ between two commits' trees (every path of `to` when `from` is null). */
export async function readPathChanges(git: Git, from: string | null, to: string): Promise<PathChange[]> {
  if (!from) {
    const { stdout } = await git.run(['ls-tree', '-r', '-z', '--name-only', '--full-tree', to]);
    return stdout.split('\0').filter((path) => path.length > 0).map((path) => ({ status: 'A', path }));
  }
  const { stdout } = await git.run(['diff', '--name-status', '--no-renames', '-z', from, to]);
  const fields = stdout.split('\0');
  const changes: PathChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const status = fields[i]!;
    if (!status) break;
    changes.push({ status: status.charAt(0), path: fields[i + 1]! });
  }
  return changes;
}
