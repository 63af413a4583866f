import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/fs.js';
import type { WrittenFile } from './report.js';

export interface PlannedFile {
  /** Relative to the target directory, `/`-separated. */
  path: string;
  content: string | Buffer;
  /** The seed file it comes from, for the report. */
  from: string;
  executable?: boolean;
}

/**
 * Write every planned file, or none: an existing file with other bytes is a
 * conflict (migrate never overwrites), found before anything is written.
 * Identical files are left alone, so a second run changes nothing.
 */
export async function writeTarget(into: string, files: PlannedFile[]): Promise<WrittenFile[]> {
  const states = await Promise.all(files.map(async (file) => ({ file, state: await compare(join(into, file.path), file.content) })));
  const conflicts = states.filter(({ state }) => state === 'different').map(({ file }) => join(into, file.path));
  if (conflicts.length > 0) {
    throw new ConfigError(
      `${conflicts.join(', ')}: already exists with other content; migrate never overwrites: move it away or use --into an empty directory (nothing was written)`,
    );
  }
  const written: WrittenFile[] = [];
  for (const { file, state } of states) {
    const path = join(into, file.path);
    if (state === 'absent') {
      await writeFileAtomic(path, file.content);
      if (file.executable) await chmod(path, 0o755);
    }
    written.push({ path: file.path, from: file.from, status: state === 'same' ? 'unchanged' : 'written' });
  }
  return written;
}

async function compare(path: string, content: string | Buffer): Promise<'absent' | 'same' | 'different'> {
  let existing: Buffer;
  try {
    existing = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'absent';
    if (code === 'EISDIR' || code === 'ENOTDIR') return 'different';
    throw new ConfigError(`${path}: cannot read: ${(error as Error).message}`);
  }
  return existing.equals(typeof content === 'string' ? Buffer.from(content) : content) ? 'same' : 'different';
}
