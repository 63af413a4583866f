import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConfigError, InputError, TransientError } from '../shared/errors.js';
import { createHttpClient } from '../shared/http.js';
import { parseProfileIndex, SAFE_PROFILE_NAME, type IndexEntry } from './profile-index.js';

/** Where profiles come from: Aquilon's web server, or a directory. */
export interface ProfileSource {
  readonly description: string;
  listProfiles(): Promise<{ entries: IndexEntry[]; invalid: string[] }>;
  /** The profile's bytes, decompressed when its name ends in .gz. */
  readProfile(name: string): Promise<Buffer>;
  close(): void;
}

export function createHttpProfileSource(options: {
  indexUrl: string;
  profileUrl?: string;
  timeoutSeconds: number;
  retries: number;
  maxBytes: number;
}): ProfileSource {
  const http = createHttpClient({ timeoutMs: options.timeoutSeconds * 1000, retries: options.retries, maxBytes: options.maxBytes });
  const base = new URL(options.profileUrl ?? '.', options.indexUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return {
    description: options.indexUrl,
    async listProfiles() {
      return parseProfileIndex(options.indexUrl, (await http.get(options.indexUrl)).toString('utf8'));
    },
    async readProfile(name) {
      return decode(name, await http.get(new URL(name.split('/').map(encodeURIComponent).join('/'), base).href));
    },
    close: () => http.close(),
  };
}

export function createDirectoryProfileSource(dir: string): ProfileSource {
  return {
    description: dir,
    async listProfiles() {
      const index = join(dir, 'profiles-info.xml');
      const text = await readFile(index, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw new ConfigError(`${index}: ${error.message}`);
      });
      if (text !== undefined) return parseProfileIndex(index, text);
      // No index: the directory's profiles, with their file mtimes.
      const names = await readdir(dir).catch((error: Error) => {
        throw new ConfigError(`aquilon.index_dir: ${dir}: ${error.message}`);
      });
      const entries: IndexEntry[] = [];
      const invalid: string[] = [];
      for (const name of names.filter((n) => /\.json(\.gz)?$/.test(n)).sort()) {
        if (!SAFE_PROFILE_NAME.test(name)) invalid.push(name);
        else entries.push({ name, mtime: String(Math.floor((await stat(join(dir, name))).mtimeMs / 1000)) });
      }
      return { entries, invalid };
    },
    async readProfile(name) {
      try {
        return decode(name, await readFile(join(dir, name)));
      } catch (error) {
        throw new TransientError(`${join(dir, name)}: ${(error as Error).message}`);
      }
    },
    close: () => undefined,
  };
}

function decode(name: string, bytes: Buffer): Buffer {
  if (!name.endsWith('.gz')) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (error) {
    // A corrupt archive is the profile's fault, not the network's.
    throw new InputError(name, '', `not a gzip file: ${(error as Error).message}`);
  }
}
