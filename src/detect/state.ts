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

const FILE = 'detector-state.tsv';
const HEADER = '# packuilon detector state v1: name\tmtime\tdigest\toutcome';
const OUTCOMES = new Set<string>(['committed', 'unchanged', 'published', 'rejected', 'skipped', 'baseline']);

/**
 * One line per profile, tab-separated (names cannot hold tabs or newlines):
 * read and written on every pass, and for 20,000 hosts a line format costs a
 * fraction of JSON's parse and stringify.
 */
export async function readState(stateDir: string): Promise<{ state: DetectorState; exists: boolean }> {
  const path = join(stateDir, FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: new Map(), exists: false };
    throw new ConfigError(`${path}: cannot read detector state: ${(error as Error).message}`);
  }
  const lines = text.split('\n');
  if (lines[0] !== HEADER || lines[lines.length - 1] !== '') {
    throw new ConfigError(`${path}: detector state is damaged (unknown header or cut short); move it away and run detect --baseline`);
  }
  const state: DetectorState = new Map();
  for (let index = 1; index < lines.length - 1; index++) {
    const [name, mtime, digest, outcome] = lines[index]!.split('\t');
    if (!name || mtime === undefined || digest === undefined || !outcome || !OUTCOMES.has(outcome)) {
      throw new ConfigError(`${path}:${index + 1}: detector state is damaged; move it away and run detect --baseline`);
    }
    state.set(name, { mtime, digest, outcome: outcome as ProfileState['outcome'] });
  }
  return { state, exists: true };
}

/** Written whole and atomically: a crash leaves the old state, and the rerun redoes the pass. */
export async function writeState(stateDir: string, state: DetectorState): Promise<void> {
  const lines = [HEADER];
  for (const name of [...state.keys()].sort()) {
    const { mtime, digest, outcome } = state.get(name)!;
    lines.push(`${name}\t${mtime}\t${digest}\t${outcome}`);
  }
  lines.push('');
  await writeFileAtomic(join(stateDir, FILE), lines.join('\n'));
}
