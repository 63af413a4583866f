import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/fs.js';
import { ConfigError } from '../shared/errors.js';

/** What the detector last handed on for a profile. A cache: git and the broker hold the truth. */
export interface ProfileState {
  mtime: string;
  digest: string;
  /** committed / unchanged: in git; published: confirmed by the broker; rejected / skipped: handled, not retried until it changes. */
  outcome: 'committed' | 'unchanged' | 'published' | 'rejected' | 'skipped' | 'baseline';
}

export type DetectorState = Map<string, ProfileState>;

const FILE = 'detector-state.json';

export async function readState(stateDir: string): Promise<{ state: DetectorState; exists: boolean }> {
  const path = join(stateDir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: new Map(), exists: false };
    throw new ConfigError(`${path}: cannot read detector state: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as { version: number; profiles: Record<string, ProfileState> };
    if (parsed.version !== 1 || typeof parsed.profiles !== 'object') throw new Error('unknown format');
    return { state: new Map(Object.entries(parsed.profiles)), exists: true };
  } catch (error) {
    throw new ConfigError(`${path}: detector state is damaged (${(error as Error).message}); move it away and run detect --baseline`);
  }
}

/** Written whole and atomically: a crash leaves the old state, and the rerun redoes the pass. */
export async function writeState(stateDir: string, state: DetectorState): Promise<void> {
  const profiles = Object.fromEntries([...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFileAtomic(join(stateDir, FILE), `${JSON.stringify({ version: 1, profiles })}\n`);
}
