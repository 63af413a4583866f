import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { createGit, resolveRef } from '../repo/index.js';
import { ConfigError } from '../shared/errors.js';
import { runTool, type ToolStream } from '../shared/exec.js';
import { packageRoot } from './init.js';

export interface CiLocalOptions {
  env: NodeJS.ProcessEnv;
  /** Passed on to gitlab-ci-local after ours (a job name, --variable X=Y, …). */
  args: string[];
  onLine(stream: ToolStream, line: string): void;
  signal?: AbortSignal;
}

export interface CiLocalResult {
  exitCode: number;
  /** Jobs gitlab-ci-local printed as failed, child pipelines' included: it does not fail the parent for them. */
  failedJobs: string[];
}

/** What `ci local` needs, found before anything runs: one line naming what is missing. */
export async function findCiLocalTools(loaded: LoadedConfig, env: NodeJS.ProcessEnv, root = packageRoot()): Promise<{ gitlabCiLocal: string; packuilon: string }> {
  const repo = loaded.paths.repo;
  const local = [join(repo, 'node_modules', '.bin', 'gitlab-ci-local'), join(root, 'node_modules', '.bin', 'gitlab-ci-local')].find(isExecutable);
  const gitlabCiLocal = local ?? onPath('gitlab-ci-local', env);
  if (!gitlabCiLocal) throw new ConfigError('ci local: gitlab-ci-local is not installed (node_modules/.bin or PATH): npm install --save-dev gitlab-ci-local@4.73.0 (the newest that runs on Node 20)');
  if (!onPath('rsync', env)) throw new ConfigError('ci local: rsync is not installed (gitlab-ci-local copies the repo with it): apt-get install rsync');
  if (!existsSync(join(repo, '.gitlab-ci.yml'))) throw new ConfigError(`ci local: ${join(repo, '.gitlab-ci.yml')} does not exist (packuilon init writes one)`);
  const branch = loaded.config.repo.branch;
  const git = createGit(repo, env);
  if (!(await resolveRef(git, `refs/remotes/origin/${branch}`))) {
    throw new ConfigError(`ci local: ${repo} has no origin/${branch} ref, which gitlab-ci-local needs: add a remote named origin and push ${branch} (git push -u origin ${branch})`);
  }
  const bin = join(root, 'bin', 'packuilon.mjs');
  return { gitlabCiLocal, packuilon: `${process.execPath} ${bin}` };
}

/** Run the repo's .gitlab-ci.yml on this machine, jobs in shells, PACKUILON pointing at this build. */
export async function runCiLocal(loaded: LoadedConfig, options: CiLocalOptions): Promise<CiLocalResult> {
  const tools = await findCiLocalTools(loaded, options.env);
  const failedJobs: string[] = [];
  const result = await runTool(
    tools.gitlabCiLocal,
    ['--shell-executor-no-image', '--no-color', '--variable', `PACKUILON=${tools.packuilon}`, ...options.args],
    {
      cwd: loaded.paths.repo,
      env: { ...options.env, FORCE_COLOR: '0' },
      ...(options.signal ? { signal: options.signal } : {}),
      onLine: (stream, line) => {
        const failed = /^\s*FAIL\s+(\S.*?)\s*$/.exec(line.replace(/\u001b\[[0-9;]*m/g, ''));
        if (failed && !failedJobs.includes(failed[1]!)) failedJobs.push(failed[1]!);
        options.onLine(stream, line);
      },
    },
  );
  return { exitCode: result.exitCode, failedJobs };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(isExecutable);
}
