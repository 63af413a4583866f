import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_RECORD, BuildRecord } from './build-record.js';

// The builds `history KEY` shows: for now what `ci build` left in out/<key>/
// (a CI job's artifact, or a local run). The record in git comes with promote.

/** out/<key>/build.json, or undefined when there is none or it is not a build record. */
export async function findBuildRecord(outRoot: string, key: string): Promise<BuildRecord | undefined> {
  const text = await readFile(join(outRoot, key, BUILD_RECORD), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = BuildRecord.safeParse(JSON.parse(text));
    return parsed.success && parsed.data.key === key ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** One line: `build of <commit>: first.json → <image id> (exit 0), …`. */
export function describeBuild(record: BuildRecord): string {
  const files = record.builds.map((build) => `${build.file} → ${build.image_id ?? build.artifact ?? 'no image'} (exit ${build.exit_code})`);
  return `build of ${record.commit ? record.commit.slice(0, 10) : 'an unknown commit'}: ${files.join(', ')}`;
}
