import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { RallyConfig, type LoadedConfig } from '../config/index.js';
import { decideVerdict, renderJunit, runRallyTask, summarize, type TestOutcome, type Verdict } from '../rally/index.js';
import { ConfigError, EXIT, UsageError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/fs.js';
import type { Logger } from '../shared/log.js';
import { assertImageId, assertImageKey, findBuildRecord } from './build-inputs.js';

export interface CiTestOptions {
  key: string;
  loaded: LoadedConfig;
  /** --image-id (repeatable); else the build record's. */
  imageIds?: string[] | undefined;
  /** --task, relative to `cwd`. */
  task?: string | undefined;
  /** --junit, relative to `cwd` [out/<key>/rally-junit.xml]. */
  junit?: string | undefined;
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  signal?: AbortSignal | undefined;
  /** After `rally task abort`, how long `task start` may take to end [30 s]; tests shorten it. */
  abortGraceMs?: number;
}

export interface CiTestResult {
  verdict: Verdict;
  exitCode: number;
  outcome: TestOutcome;
  summary: string;
  taskUuid?: string | undefined;
  files: { test: string; junit: string; html?: string | undefined; report?: string | undefined; log: string };
}

const EXIT_OF: Record<Verdict, number> = { pass: EXIT.ok, fail: EXIT.verdict, error: EXIT.retry };

/** `ci test KEY`: the Rally task against the new image, the verdict, test.json, JUnit, the summary. */
export async function ciTest(options: CiTestOptions): Promise<CiTestResult> {
  const { key, loaded } = options;
  assertImageKey('ci test', key);
  const repo = loaded.paths.repo;
  const rally = loaded.config.rally ?? RallyConfig.parse({});
  const outDir = join(repo, 'out', key);
  const images = await imagesUnderTest(repo, key, outDir, options.imageIds);
  const taskFile = chooseTask(options, repo, rally.task);
  const imageIds = images.map((image) => image.id);
  const log = options.log.child({ imageKey: key });
  const taskArgs = {
    ...rally.task_args,
    image_name: images[0]!.name ?? '',
    image_id: imageIds[0]!,
    image_ids: imageIds,
    flavor: rally.flavor,
    task_dir: dirname(taskFile),
  };
  log.info({ task: taskFile, imageIds }, 'rally task starting');
  const run = await runRallyTask({
    workDir: join(outDir, 'rally'),
    envName: rally.env,
    configFile: rally.config_file ? resolve(repo, rally.config_file) : undefined,
    taskFile,
    taskArgs,
    timeoutSeconds: rally.timeout,
    signal: options.signal,
    env: options.env,
    log,
    ...(options.abortGraceMs === undefined ? {} : { abortGraceMs: options.abortGraceMs }),
  });
  const outcome = decideVerdict(run, rally.success_threshold);
  const files = {
    test: join(outDir, 'test.json'),
    junit: options.junit ? resolve(options.cwd, options.junit) : join(outDir, 'rally-junit.xml'),
    html: run.files.html,
    report: run.files.report,
    log: run.files.log,
  };
  const report = { key, verdict: outcome.verdict, reasons: outcome.reasons, task_uuid: run.taskUuid ?? null, image_ids: imageIds };
  await writeFileAtomic(files.test, `${JSON.stringify(report, null, 2)}\n`);
  const facts = { key, imageIds, taskUuid: run.taskUuid, threshold: rally.success_threshold, outcome };
  await writeFileAtomic(files.junit, renderJunit(facts));
  const summary = summarize(facts);
  const level = outcome.verdict === 'pass' ? 'info' : 'warn';
  log[level]({ verdict: outcome.verdict, taskUuid: run.taskUuid, reasons: outcome.reasons }, 'rally verdict');
  return { verdict: outcome.verdict, exitCode: EXIT_OF[outcome.verdict], outcome, summary, taskUuid: run.taskUuid, files };
}

interface ImageUnderTest {
  id: string;
  name?: string | undefined;
}

async function imagesUnderTest(repo: string, key: string, outDir: string, given: string[] | undefined): Promise<ImageUnderTest[]> {
  const record = await findBuildRecord(outDir, key);
  const built = (record?.builds ?? []).filter((build) => build.image_id).map((build) => ({ id: build.image_id!, name: build.image_name ?? undefined }));
  for (const id of given ?? []) assertImageId(id);
  const images = given?.length ? given.map((id) => ({ id, name: built.find((build) => build.id === id)?.name })) : built;
  if (images.length === 0) {
    const recordFile = join(outDir, 'build.json');
    throw new UsageError(`ci test ${key}: no image to test: give --image-id ID, or run ci build first (${record ? `${recordFile} has no image ID` : `${recordFile} is missing`})`);
  }
  const fallback = await renderedImageName(repo, key);
  return images.map((image) => ({ id: image.id, name: image.name ?? fallback }));
}

/** The `image_name` of the first rendered build file of the image that has one. */
async function renderedImageName(repo: string, key: string): Promise<string | undefined> {
  const dir = join(repo, 'images', key);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((file) => file.endsWith('.json') && file !== 'image.json').sort()) {
    try {
      const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as { builders?: { image_name?: unknown }[] };
      const found = parsed.builders?.find((builder) => typeof builder.image_name === 'string')?.image_name;
      if (typeof found === 'string') return found;
    } catch {
      // Not a JSON build file (an HCL var-file): try the next.
    }
  }
  return undefined;
}

/** --task > templates/rally/<key>.yaml > rally.task. */
function chooseTask(options: CiTestOptions, repo: string, configured: string): string {
  const candidates = options.task
    ? [{ path: resolve(options.cwd, options.task), from: '--task' }]
    : [
        { path: join(repo, 'templates', 'rally', `${options.key}.yaml`), from: 'templates/rally/<key>.yaml', optional: true },
        { path: resolve(repo, configured), from: 'rally.task' },
      ];
  for (const candidate of candidates) {
    if (existsSync(candidate.path)) return candidate.path;
    if (!('optional' in candidate)) throw new ConfigError(`${candidate.from}: Rally task ${candidate.path} does not exist`);
  }
  throw new ConfigError('ci test: no Rally task');
}
