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
 * `from` is null), newest first, limited to `paths`.
 */
export async function readRangeCommits(git: Git, from: string | null, to: string, paths: string[]): Promise<RangeCommit[]> {
  const range = from ? [`${from}..${to}`] : [to];
  const { stdout } = await git.run([
    '-c', 'core.quotePath=false',
    'log', '--topo-order', '--no-renames', '--name-only',
    `--format=${RECORD}%H%x00%s%x00%(trailers:only,unfold)%x00`,
    ...range, '--', ...paths,
  ]);
  const commits: RangeCommit[] = [];
  for (const record of stdout.split(RECORD)) {
    if (!record.trim()) continue;
    const [commit = '', subject = '', trailerText = '', names = ''] = record.split('\0');
    commits.push({
      commit,
      subject,
      trailers: parseTrailerLines(trailerText),
      paths: names.split('\n').filter((line) => line.length > 0),
    });
  }
  return commits;
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
