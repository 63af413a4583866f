import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import '../shared/zod.js';
import { ConfigError, UsageError } from '../shared/errors.js';
import { formatIssues } from '../shared/zod.js';

// What the jobs after `ci build` read of its out/<key>/build.json (only the
// fields they use), and of `ci test`'s out/<key>/test.json.

const BuildRecord = z.object({
  key: z.string(),
  commit: z.nullish(z.string()),
  builds: z.array(z.object({ file: z.string(), image_name: z.nullish(z.string()), image_id: z.nullable(z.string()) })),
});
export type BuildRecordRead = z.infer<typeof BuildRecord>;

const TestRecord = z.object({ key: z.string(), verdict: z.string(), reasons: z.array(z.string()) });

export function assertImageKey(command: string, key: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(key)) throw new UsageError(`${command}: ${JSON.stringify(key)} is not an image key`);
}

export function assertImageId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,254}$/.test(id)) throw new UsageError(`--image-id: ${JSON.stringify(id)} is not an image ID`);
}

/** out/<key>/build.json, or undefined when there is none; a broken one is a ConfigError naming the file. */
export async function findBuildRecord(outDir: string, key: string): Promise<BuildRecordRead | undefined> {
  const parsed = await readRecord(join(outDir, 'build.json'), BuildRecord);
  if (parsed && parsed.key !== key) throw new ConfigError(`${join(outDir, 'build.json')}: key: expected ${key}, received ${parsed.key}`);
  return parsed;
}

export async function findTestReasons(outDir: string, key: string): Promise<string[]> {
  const parsed = await readRecord(join(outDir, 'test.json'), TestRecord);
  return parsed && parsed.key === key ? parsed.reasons : [];
}

async function readRecord<T>(file: string, schema: z.ZodMiniType<T>): Promise<T | undefined> {
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));
  return parsed.data;
}
