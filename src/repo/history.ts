import type { Git } from './git.js';
import { parseTrailerLines } from './trailers.js';
import { readEvents, type ImageEvent } from './notes.js';

export interface HistoryEntry {
  commit: string;
  date: string;
  subject: string;
  keys: string[];
  trigger?: string;
  profiles: { name: string; digest?: string }[];
  messageIds: string[];
  /** The release that made the commit (`Packuilon-Version:`); absent on commits of releases before it. */
  version?: string;
  /** What happened to the image after this commit (refs/notes/packuilon): build, test, promote, reject, rollback. */
  events: ImageEvent[];
}

const SEPARATOR = '\u001e';

/** Image changes from git, newest first: git is the audit trail, nothing else is kept. */
export async function readHistory(git: Git, options: { key?: string; limit?: number }): Promise<HistoryEntry[]> {
  const head = await git.run(['rev-parse', '--verify', '--quiet', 'HEAD'], { allowFailure: true });
  if (head.code !== 0) return [];
  const args = ['log', `--format=%H%x00%aI%x00%s%x00%(trailers:only,unfold)${SEPARATOR}`, '--grep=^images(', ...(options.limit ? [`-n${options.limit}`] : []), 'HEAD', '--', options.key ? `images/${options.key}/` : 'images/'];
  const [{ stdout }, notes] = await Promise.all([git.run(args), readEvents(git)]);
  return stdout
    .split(SEPARATOR)
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record.trim())
    .map((record) => {
      const [commit = '', date = '', subject = '', trailerText = ''] = record.split('\0');
      const entry: HistoryEntry = { commit, date, subject, keys: [], profiles: [], messageIds: [], events: notes.get(commit) ?? [] };
      const key = /^images\(([^)]+)\)/.exec(subject)?.[1];
      if (key) entry.keys.push(key);
      for (const { key: name, value } of parseTrailerLines(trailerText)) {
        if (name === 'Profile') entry.profiles.push({ name: value });
        else if (name === 'Profile-Digest' && entry.profiles.length) entry.profiles[entry.profiles.length - 1]!.digest = value;
        else if (name === 'Trigger') entry.trigger = value;
        else if (name === 'Message-Id') entry.messageIds.push(value);
        else if (name === 'Packuilon-Version') entry.version = value;
      }
      return entry;
    });
}
