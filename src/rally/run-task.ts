import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ToolRunError } from '../shared/exec.js';
import { ConfigError, ToolError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { formatIssues } from '../shared/zod.js';
import { createRallyCli, meaningfulTail, type RallyCli } from './rally-cli.js';
import { RallyReport, type RallyTask } from './schema.js';
import type { RunFacts } from './verdict.js';

export interface RunTaskOptions {
  /** out/<key>/rally: config, database, HOME, task args, reports, log. */
  workDir: string;
  /** An existing Rally env (rally.env); it lives in the database of `configFile`. */
  envName?: string | undefined;
  /** rally.config_file: used with `envName` only; without an env the run makes its own. */
  configFile?: string | undefined;
  taskFile: string;
  /** Rendered by Rally's Jinja2 from --task-args-file: never spliced into the task's text. */
  taskArgs: Record<string, unknown>;
  timeoutSeconds: number;
  /** After `rally task abort`, how long `task start` may take to end before it is killed [30 s]. */
  abortGraceMs?: number;
  /** The job is cancelled (SIGTERM/SIGINT): abort the task the same way. */
  signal?: AbortSignal | undefined;
  env: NodeJS.ProcessEnv;
  log: Logger;
  tag?: string;
  command?: string;
}

export interface TaskRun extends RunFacts {
  tag: string;
  exitCode?: number | undefined;
  /** The last lines of `task start` that say something (its stdout: validation errors go there). */
  detail: string;
  files: { log: string; args: string; report?: string | undefined; html?: string | undefined };
}

/**
 * One Rally task, start to report: own database and env unless `envName`,
 * `task start --tag`, UUID from `task list --tag`, results from `task report
 * --json`. Rally failing to run is a result (`failure`), not a throw.
 */
export async function runRallyTask(options: RunTaskOptions): Promise<TaskRun> {
  const tag = options.tag ?? `packuilon-${randomUUID()}`;
  const workDir = resolve(options.workDir);
  const home = join(workDir, 'home');
  await mkdir(home, { recursive: true });
  const files: TaskRun['files'] = { log: join(workDir, 'rally.log'), args: join(workDir, 'task-args.json') };
  const own = !options.envName;
  const database = join(workDir, 'rally.sqlite');
  const configFile = own ? join(workDir, 'rally.conf') : options.configFile;
  if (own) await writeFile(configFile!, ownRallyConf(database));
  const rally = createRallyCli({ configFile, home, cwd: workDir, env: options.env, logFile: files.log, ...(options.command ? { command: options.command } : {}) });
  const log = options.log.child({ rallyTag: tag });
  // What is known so far: a later step that fails keeps it (a timeout stays a timeout).
  let run: TaskRun = { tag, timeoutSeconds: options.timeoutSeconds, detail: '', files };
  try {
    let envName = options.envName;
    if (!envName) {
      envName = tag;
      await rally.must(['db', 'ensure']);
      await rally.must(['env', 'create', '--name', envName, '--from-sysenv', '--no-use'], { log: false });
      log.info({ env: envName }, 'rally env made from the OS_* variables');
    }
    await writeFile(files.args, `${JSON.stringify(options.taskArgs, null, 2)}\n`);
    const started = await startTask(rally, { ...options, tag, envName, argsFile: files.args, log });
    run = { ...run, exitCode: started.exitCode, stopped: started.stopped, taskUuid: started.taskUuid, detail: meaningfulTail(started.output) };
    if (run.stopped === 'cancelled') return run;
    const uuids = run.taskUuid ? [run.taskUuid] : await rally.findTasks(envName, tag);
    if (uuids.length === 0) return { ...run, failure: `rally task start made no task (exit ${run.exitCode ?? 'none'})${run.detail ? `: ${run.detail}` : ''}` };
    run.taskUuid = uuids[uuids.length - 1];
    files.report = join(workDir, 'report.json');
    files.html = join(workDir, 'report.html');
    await Promise.all([
      rally.must(['task', 'report', '--uuid', run.taskUuid!, '--json', '--out', files.report]),
      rally.must(['task', 'report', '--uuid', run.taskUuid!, '--html-static', '--out', files.html]),
    ]);
    const read = readReport(await readFile(files.report, 'utf8'), files.report, run.taskUuid!);
    return typeof read === 'string' ? { ...run, failure: read } : { ...run, task: read };
  } catch (error) {
    if (error instanceof ToolError) return { ...run, failure: error.message };
    throw error;
  } finally {
    // The database of a run's own env holds the job's OS_* credentials: it never outlives the job.
    if (own) await Promise.all([rm(database, { force: true }), rm(home, { recursive: true, force: true })]);
  }
}

interface Started {
  exitCode?: number | undefined;
  stopped?: 'timeout' | 'cancelled' | undefined;
  taskUuid?: string | undefined;
  output: string;
}

async function startTask(rally: RallyCli, options: RunTaskOptions & { tag: string; envName: string; argsFile: string; log: Logger }): Promise<Started> {
  const { tag, log } = options;
  const grace = options.abortGraceMs ?? 30_000;
  const kill = new AbortController();
  let ended = false;
  const start = rally
    .run(['task', 'start', '--task', resolve(options.taskFile), '--task-args-file', options.argsFile, '--deployment', options.envName, '--no-use', '--tag', tag], {
      signal: kill.signal,
      killGraceMs: 5_000,
      timeoutMs: options.timeoutSeconds * 1000 + grace + 60_000,
    })
    .then(
      (result) => ({ exitCode: result.exitCode, output: result.stdout.trim() ? result.stdout : result.stderr }),
      (error: unknown) => {
        if (error instanceof ToolRunError && (error.kind === 'cancelled' || error.kind === 'timeout')) return { exitCode: undefined, output: error.stdout.trim() ? error.stdout : error.stderr };
        throw error;
      },
    )
    .finally(() => (ended = true));
  const done = start.then(
    () => true,
    () => true,
  );
  let stopped: Started['stopped'];
  let taskUuid: string | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: 'timeout' | 'cancelled') => {
    if (stopped || ended) return;
    stopped = why;
    log.warn({ why, timeoutSeconds: options.timeoutSeconds }, why === 'timeout' ? 'rally task ran past rally.timeout: aborting it' : 'job cancelled: aborting the rally task');
    stopping = (async () => {
      const deadline = Date.now() + grace;
      try {
        while (!taskUuid && !ended && Date.now() < deadline) {
          taskUuid = (await rally.findTasks(options.envName, tag, Math.max(1000, deadline - Date.now()))).at(-1);
          if (!taskUuid) await wait(1000, done);
        }
        if (taskUuid && !ended) await rally.run(['task', 'abort', '--uuid', taskUuid], { timeoutMs: Math.max(1000, deadline - Date.now()) });
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'rally task abort failed');
      }
      if (!(await wait(deadline - Date.now(), done))) {
        log.warn({ taskUuid, graceSeconds: grace / 1000 }, 'rally task start did not end after the abort: killing it');
        kill.abort();
      }
    })();
  };
  const timer = setTimeout(() => stop('timeout'), options.timeoutSeconds * 1000);
  const onCancel = () => stop('cancelled');
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener('abort', onCancel, { once: true });
  try {
    const result = await start;
    return { ...result, stopped, taskUuid };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCancel);
    await stopping;
  }
}

/** Resolves true when `until` settles first, false after `ms`. */
function wait(ms: number, until: Promise<boolean>): Promise<boolean> {
  if (ms <= 0) return Promise.race([until, Promise.resolve(false)]);
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([until, elapsed]).finally(() => clearTimeout(timer));
}

function readReport(text: string, file: string, uuid: string): RallyTask | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return `${file}: not JSON: ${(error as Error).message}`;
  }
  const parsed = RallyReport.safeParse(raw);
  if (!parsed.success) return `no data: ${formatIssues(file, parsed.error).split('\n')[0]}`;
  return parsed.data.tasks.find((task) => task.uuid === uuid) ?? `no data: ${file} has no task ${uuid}`;
}

/** Rally's config for a run of its own: only the database, a sqlite file in the run's folder. */
export function ownRallyConf(database: string): string {
  // oslo.config expands `$name`: a literal dollar is `$$`; a line break would end the value.
  if (/[\n\r]/.test(database)) throw new ConfigError(`rally: database path ${JSON.stringify(database)} holds a line break`);
  return `[database]\nconnection = sqlite:///${database.replace(/\$/g, '$$$$')}\n`;
}
