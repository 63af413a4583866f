import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ConfigError, InputError, TransientError, redact } from '../shared/errors.js';
import { BadBodyError, gunzipLimited } from '../shared/gunzip.js';
import { createHttpClient } from '../shared/http.js';
import { parseProfileIndex, SAFE_PROFILE_NAME, type IndexEntry } from './profile-index.js';

/** Where profiles come from: Aquilon's web server, or a directory. */
export interface ProfileSource {
  readonly description: string;
  /** The profiles-info.xml as served or on disk; undefined for a directory without one (its files are the listing). */
  readIndex(): Promise<Buffer | undefined>;
  /** The index's entries: of `index` when given (as readIndex returned it), else read now. */
  listProfiles(index?: Buffer): Promise<{ entries: IndexEntry[]; invalid: string[] }>;
  /** The profile's bytes, decompressed when its name ends in .gz; InputError when they are not what the name says or too large. */
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
  const readIndex = () =>
    http.get(options.indexUrl).catch((error: Error) => {
      // The index is the whole site's: nothing to record it against, so the pass is retried.
      throw error instanceof BadBodyError ? new TransientError(`${redact(options.indexUrl)}: ${error.message}`) : error;
    });
  return {
    description: options.indexUrl,
    readIndex,
    async listProfiles(index) {
      return parseProfileIndex(options.indexUrl, (index ?? (await readIndex())).toString('utf8'));
    },
    async readProfile(name) {
      let bytes: Buffer;
      try {
        bytes = await http.get(new URL(name.split('/').map(encodeURIComponent).join('/'), base).href);
      } catch (error) {
        if (error instanceof BadBodyError) throw new InputError(name, '', `as served: ${error.message} (queue.max_message_bytes)`);
        throw error;
      }
      return name.endsWith('.gz') ? decompress(name, bytes, options.maxBytes) : bytes;
    },
    close: () => http.close(),
  };
}

/** `maxBytes` caps a profile as the HTTP path caps a download: on disk, and decompressed. */
export function createDirectoryProfileSource(dir: string, maxBytes: number): ProfileSource {
  const indexPath = join(dir, 'profiles-info.xml');
  const readIndex = () =>
    readFile(indexPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new ConfigError(`${indexPath}: ${error.message}`);
    });
  return {
    description: dir,
    readIndex,
    async listProfiles(index) {
      const bytes = index ?? (await readIndex());
      if (bytes !== undefined) return parseProfileIndex(indexPath, bytes.toString('utf8'));
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
      const path = join(dir, name);
      // Only the file system's failures are transient (a file being replaced, a share away);
      // what the bytes are is the profile's fault, recorded as over HTTP.
      const size = await stat(path).then(
        (info) => info.size,
        (error: Error) => {
          throw new TransientError(`${path}: ${error.message}`);
        },
      );
      if (name.endsWith('.gz')) return decompress(name, createReadStream(path), maxBytes, path);
      if (size > maxBytes) throw new InputError(name, '', `${size} bytes, larger than the ${maxBytes} allowed (queue.max_message_bytes)`);
      return readFile(path).catch((error: Error) => {
        throw new TransientError(`${path}: ${error.message}`);
      });
    },
    close: () => undefined,
  };
}

async function decompress(name: string, input: Buffer | Readable, maxBytes: number, path?: string): Promise<Buffer> {
  try {
    return await gunzipLimited(input, maxBytes);
  } catch (error) {
    // A corrupt, cut or oversized archive is the profile's fault, not the network's.
    if (error instanceof BadBodyError) {
      throw new InputError(name, '', error.tooLarge ? `${error.message} (queue.max_message_bytes)` : `not a usable .gz file: ${error.message}`);
    }
    throw new TransientError(`${path ?? name}: ${(error as Error).message}`);
  }
}
