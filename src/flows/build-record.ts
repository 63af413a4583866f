import { join } from 'node:path';
import * as z from 'zod/mini';
import '../shared/zod.js';
import { writeFileAtomic } from '../shared/fs.js';

// out/<key>/build.json and build.env: the contract between `ci build` and the
// jobs after it (test, promote) and `history`.

export const BuildRecord = z.object({
  key: z.string(),
  commit: z.nullable(z.string()),
  builds: z.array(
    z.object({
      file: z.string(),
      image_name: z.string(),
      image_id: z.nullable(z.string()),
      artifact: z.nullable(z.string()),
      exit_code: z.int(),
      log: z.string(),
    }),
  ),
});
export type BuildRecord = z.infer<typeof BuildRecord>;

export const BUILD_RECORD = 'build.json';
export const BUILD_ENV = 'build.env';

/** A dotenv value can hold neither a newline nor, in a comma list, a comma: an ID that does is no ID. */
export function isSafeImageId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,254}$/.test(id);
}

export function renderBuildEnv(record: BuildRecord): string {
  const ids = record.builds.map((build) => build.image_id).filter((id): id is string => id !== null);
  return `IMAGE_KEY=${record.key}\nIMAGE_IDS=${ids.join(',')}\nIMAGE_ID=${ids[0] ?? ''}\n`;
}

/** Both files, each written atomically: a reader sees the old record or the new. */
export async function writeBuildRecord(dir: string, record: BuildRecord): Promise<void> {
  await writeFileAtomic(join(dir, BUILD_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  await writeFileAtomic(join(dir, BUILD_ENV), renderBuildEnv(record));
}
