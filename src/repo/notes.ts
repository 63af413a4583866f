// The record of what happened to an image after its commit (build, test
// verdict, promotion, rejection, rollback): git notes on the commit that last
// changed images/<key>/, in refs/notes/packuilon, one JSON object per line.
// A note is no commit on the branch: no pipeline runs for it and `ci plan`
// never sees it. Concurrent jobs race on the notes ref: a rejected push
// fetches the remote's notes, adds the event again, and retries.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransientError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Git } from './git.js';

export const NOTES_REF = 'refs/notes/packuilon';

export interface ImageEvent {
  /** Stable per event, so recording twice (a rerun job) adds it once. */
  id: string;
  type: 'build' | 'test' | 'promote' | 'reject' | 'rollback';
  key: string;
  at: string;
  [field: string]: unknown;
}

export interface RecordOptions {
  /** The commit the pipeline built (CI_COMMIT_SHA); the note goes on the last commit at or before it that changed images/<key>/. */
  commit: string;
  remote?: string | undefined;
  retries?: number;
  log: Logger;
}

/** The commit the events of `key` belong to: the last one at or before `commit` that changed images/<key>/, else `commit`. */
export async function eventCommit(git: Git, key: string, commit: string): Promise<string> {
  const { stdout } = await git.run(['log', '-1', '--format=%H', commit, '--', `images/${key}/`], { allowFailure: true });
  return stdout.trim() || (await git.run(['rev-parse', '--verify', `${commit}^{commit}`])).stdout.trim();
}

async function noteOf(git: Git, commit: string): Promise<string> {
  const result = await git.run(['notes', `--ref=${NOTES_REF}`, 'show', commit], { allowFailure: true });
  return result.code === 0 ? result.stdout : '';
}

/** Add events to the note of their commit and push the notes ref; returns the commit noted. */
export async function recordEvents(git: Git, events: ImageEvent[], options: RecordOptions): Promise<string | null> {
  if (!events.length) return null;
  const target = await eventCommit(git, events[0]!.key, options.commit);
  const retries = options.retries ?? 8;
  const dir = await mkdtemp(join(tmpdir(), 'packuilon-note-'));
  try {
    for (let attempt = 1; ; attempt++) {
      if (options.remote) {
        // the remote's notes are the truth; ours are re-applied on top of them
        await git.run(['fetch', '--quiet', options.remote, `+${NOTES_REF}:${NOTES_REF}`], { allowFailure: true });
      }
      const existing = await noteOf(git, target);
      const known = new Set(existing.split('\n').flatMap((line) => {
        try {
          return [(JSON.parse(line) as { id?: string }).id];
        } catch {
          return [];
        }
      }));
      const fresh = events.filter((e) => !known.has(e.id));
      if (fresh.length) {
        const file = join(dir, 'note');
        await writeFile(file, `${existing.trimEnd() ? `${existing.trimEnd()}\n` : ''}${fresh.map((e) => JSON.stringify(e)).join('\n')}\n`);
        await git.run(['notes', `--ref=${NOTES_REF}`, 'add', '-f', '-F', file, target]);
      }
      if (!options.remote) return target;
      const push = await git.run(['push', '--quiet', options.remote, `${NOTES_REF}:${NOTES_REF}`], { allowFailure: true });
      if (push.code === 0) return target;
      if (!/rejected|fetch first|non-fast-forward|failed to update ref|cannot lock ref/i.test(push.stderr) || attempt > retries) {
        throw new TransientError(`git push ${options.remote} ${NOTES_REF}: ${push.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      }
      options.log.info({ attempt, ref: NOTES_REF }, 'notes push rejected: another job recorded first; adding ours to theirs');
      await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 100));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every recorded event, by the commit it is noted on. Lines that are not our JSON are ignored. */
export async function readEvents(git: Git): Promise<Map<string, ImageEvent[]>> {
  const events = new Map<string, ImageEvent[]>();
  const list = await git.run(['notes', `--ref=${NOTES_REF}`, 'list'], { allowFailure: true });
  if (list.code !== 0 || !list.stdout.trim()) return events;
  const pairs = list.stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]);
  const { stdout } = await git.run(['cat-file', '--batch'], { input: pairs.map(([blob]) => blob).join('\n') + '\n' });
  // --batch output: "<sha> blob <size>\n<content>\n" per object
  let offset = 0;
  const buffer = Buffer.from(stdout, 'utf8');
  for (const [, commit] of pairs) {
    const headerEnd = buffer.indexOf(10, offset);
    const size = Number(buffer.subarray(offset, headerEnd).toString().split(' ')[2]);
    const content = buffer.subarray(headerEnd + 1, headerEnd + 1 + size).toString('utf8');
    offset = headerEnd + 1 + size + 1;
    const parsed = content.split('\n').flatMap((line) => {
      try {
        const value = JSON.parse(line) as ImageEvent;
        return value && typeof value === 'object' && typeof value.type === 'string' && typeof value.key === 'string' ? [value] : [];
      } catch {
        return [];
      }
    });
    if (parsed.length) events.set(commit, parsed);
  }
  return events;
}
