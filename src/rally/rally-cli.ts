import { appendFileSync } from 'node:fs';
import { runTool, type RunToolOptions, type ToolResult } from '../shared/exec.js';
import { redact, ToolError } from '../shared/errors.js';
import { TASK_UUID } from './schema.js';

export interface RallyCliOptions {
  /** Passed as --config-file when set (Debian's packaged rally.conf is broken). */
  configFile?: string | undefined;
  /** Rally's HOME (it keeps ~/.rally/globals there). */
  home: string;
  cwd: string;
  /** The job's environment: OS_* for `env create --from-sysenv`, PATH to find rally. */
  env: NodeJS.ProcessEnv;
  /** Every output line of every Rally command goes here, prefixed by the command. */
  logFile: string;
  command?: string;
}

export interface RallyCli {
  run(args: string[], options?: CallOptions): Promise<ToolResult>;
  /** Like run, but a non-zero exit is a ToolError with the output's tail. */
  must(args: string[], options?: CallOptions): Promise<ToolResult>;
  /** The UUIDs of the env's tasks carrying this tag, from Rally itself. */
  findTasks(envName: string, tag: string, timeoutMs?: number): Promise<string[]>;
}

type CallOptions = Pick<RunToolOptions, 'timeoutMs' | 'signal' | 'killGraceMs'> & {
  /** false: keep this command's output out of the log file (`env create` prints the credentials it stored). */
  log?: boolean;
};

// A Rally command that hangs (a database lock, a dead Keystone) must not hold the job.
const COMMAND_TIMEOUT_MS = 120_000;

/** The Rally command line, over the one exec chokepoint. */
export function createRallyCli(options: RallyCliOptions): RallyCli {
  const command = options.command ?? 'rally';
  const base = options.configFile ? ['--config-file', options.configFile] : [];
  const env = { ...options.env, HOME: options.home };
  const run: RallyCli['run'] = (args, { log = true, ...extra } = {}) => {
    const label = `rally ${args.slice(0, 2).join(' ')}`;
    return runTool(command, [...base, ...args], {
      cwd: options.cwd,
      env,
      timeoutMs: COMMAND_TIMEOUT_MS,
      ...extra,
      ...(log ? { onLine: (stream, line) => appendFileSync(options.logFile, `[${label} ${stream}] ${scrub(line)}\n`) } : {}),
    });
  };
  const must: RallyCli['must'] = async (args, extra) => {
    const result = await run(args, extra);
    if (result.exitCode !== 0) throw new ToolError(`rally ${args.slice(0, 2).join(' ')}`, result.exitCode, meaningfulTail(`${result.stdout}\n${result.stderr}`));
    return result;
  };
  return {
    run,
    must,
    async findTasks(envName, tag, timeoutMs = COMMAND_TIMEOUT_MS) {
      // Not --all-deployments: without a default env (every env here is --no-use) Rally refuses it.
      const result = await must(['task', 'list', '--deployment', envName, '--uuids-only', '--tag', tag], { timeoutMs });
      return result.stdout.split('\n').map((line) => line.trim()).filter((line) => TASK_UUID.test(line));
    },
  };
}

/** Credentials as Rally prints them (`"password": "…"` in an env spec), and passwords in URLs, masked. */
export function scrub(text: string): string {
  return redact(text).replace(/("[^"\n]*(?:password|secret|token|credential)[^"\n]*"\s*:\s*")(?:[^"\\\n]|\\.)*"/gi, '$1***"');
}

/** The last lines of Rally's output that say something: no oslo.log INFO/DEBUG lines, no hints, no blanks. */
export function meaningfulTail(output: string, count = 3): string {
  const lines = scrub(output)
    .split('\n')
    .map((line) => line.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((line) => line && !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ (INFO|DEBUG) /.test(line) && !/^(\*|HINTS:|rally task (report|export))/.test(line));
  return lines.slice(-count).join('\n');
}
