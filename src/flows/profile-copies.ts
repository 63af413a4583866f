import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageKey, ProfileInput } from '../model.js';
import { writeFileAtomic } from '../shared/fs.js';

/**
 * Copies of the profiles a merge-request run rendered, in
 * `<state_dir>/profiles/<key>/<sha256 hex>.json`, so a request can show which
 * fields changed against the profile the default branch records. A cache:
 * losing it only makes the description say no earlier copy was kept.
 */
export interface ProfileCopies {
  keep(key: ImageKey, profile: ProfileInput): Promise<void>;
  find(key: ImageKey, digest: string): Promise<string | undefined>;
  /** Drops every copy whose digest no recorded render (default branch, open requests) still names. */
  prune(recorded: Map<ImageKey, Set<string>>): Promise<number>;
  keys(): Promise<ImageKey[]>;
}

const HEX = /^sha256:([0-9a-f]{64})$/;
const KEY = /^[A-Za-z0-9._-]+$/;

export function createProfileCopies(stateDir: string): ProfileCopies {
  const root = join(stateDir, 'profiles');
  const pathOf = (key: string, digest: string) => {
    const hex = HEX.exec(digest)?.[1];
    return hex && KEY.test(key) ? join(root, key, `${hex}.json`) : undefined;
  };
  return {
    async keep(key, profile) {
      const path = pathOf(key, profile.digest);
      if (path) await writeFileAtomic(path, profile.text);
    },
    async find(key, digest) {
      const path = pathOf(key, digest);
      return path ? readFile(path, 'utf8').catch(() => undefined) : undefined;
    },
    async keys() {
      const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
      return entries.filter((entry) => entry.isDirectory() && KEY.test(entry.name)).map((entry) => entry.name);
    },
    async prune(recorded) {
      let removed = 0;
      for (const key of await this.keys()) {
        const keep = recorded.get(key) ?? new Set<string>();
        for (const file of await readdir(join(root, key)).catch(() => [])) {
          if (!keep.has(`sha256:${file.replace(/\.json$/, '')}`)) {
            await rm(join(root, key, file), { force: true });
            removed++;
          }
        }
        if (keep.size === 0) await rm(join(root, key), { recursive: true, force: true });
      }
      return removed;
    },
  };
}
