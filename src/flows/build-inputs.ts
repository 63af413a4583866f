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
  builds: z.array(z.object({ file: z.string(), image_name: z.nullish(z.string()), image_id: z.nullable(z.string()), exit_code: z.optional(z.nullable(z.number())) })),
});
export type BuildRecordRead = z.infer<typeof BuildRecord>;

const TestRecord = z.object({ key: z.string(), verdict: z.string(), reasons: z.array(z.string()), image_ids: z.optional(z.array(z.string())) });
export type TestRecordRead = z.infer<typeof TestRecord>;

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
  return (await findTestRecord(outDir, key))?.reasons ?? [];
}

/** out/<key>/test.json, or undefined when there is none (or it is another key's); a broken one is a ConfigError naming the file. */
export async function findTestRecord(outDir: string, key: string): Promise<TestRecordRead | undefined> {
  const parsed = await readRecord(join(outDir, 'test.json'), TestRecord);
  return parsed && parsed.key === key ? parsed : undefined;
}

/**
 * What the records of a chain that went wrong say happened to the image: the
 * test failed it (rejected), the build made no image (build-failed), or
 * nothing final (the test could not say: the image is neither good nor bad).
 */
export type FailedChain =
  | { outcome: 'rejected'; imageIds: string[]; reasons: string[] }
  | { outcome: 'build-failed'; why: string }
  | { outcome: 'none'; why: string };

export async function whatFailed(outDir: string, key: string): Promise<FailedChain> {
  const test = await findTestRecord(outDir, key);
  if (test?.verdict === 'fail') return { outcome: 'rejected', imageIds: test.image_ids ?? [], reasons: test.reasons };
  if (test) return { outcome: 'none', why: `the test's verdict is ${test.verdict}${test.reasons.length ? ` (${test.reasons.join('; ')})` : ''}: only a failed test rejects an image` };
  const build = await findBuildRecord(outDir, key);
  if (!build) return { outcome: 'build-failed', why: `no ${join(outDir, 'build.json')}: the build did not run to its end` };
  const failed = build.builds.find((entry) => (entry.exit_code ?? 0) !== 0 || !entry.image_id);
  if (failed || build.builds.length === 0) return { outcome: 'build-failed', why: failed ? `${failed.file} made no image` : 'the build made no image' };
  return { outcome: 'none', why: `no test verdict in ${join(outDir, 'test.json')}: the test did not run to its end` };
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
