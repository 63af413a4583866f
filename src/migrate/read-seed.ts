import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../shared/errors.js';

const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** A seed file's bytes and whether it is executable; undefined when there is no such file. */
export async function readSeedFile(path: string): Promise<{ bytes: Buffer; executable: boolean } | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    return { bytes: await readFile(path), executable: (info.mode & 0o111) !== 0 };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (ABSENT.has(code)) return undefined;
    // Unreadable is not absent: migrating without it would silently lose it.
    throw new ConfigError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((info) => info.isDirectory(), () => false);
}
