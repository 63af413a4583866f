import { spawn } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ToolError, TransientError, redact } from '../shared/errors.js';

/**
 * The one place git is started. Never prompts (a service has no terminal),
 * ssh in batch mode, a fixed locale so failures can be classified.
 */
export interface Git {
  readonly dir: string;
  /** Run git; resolves with stdout, rejects with a ToolError or TransientError. */
  run(args: string[], options?: { input?: string | Buffer; allowFailure?: boolean }): Promise<GitResult>;
  /**
   * Start git with its input streamed: `write` waits while the pipe is full, `end` resolves as `run` does.
   * `onStdout`: git's answers as they come (fast-import's `get-mark`), instead of collected for `end`.
   */
  start(args: string[], options?: { onStdout?(chunk: Buffer): void }): GitInputStream;
}

export interface GitInputStream {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<GitResult>;
  /** Stop it (SIGKILL) and wait for it to exit; nothing it wrote before `end` takes effect. */
  kill(): Promise<void>;
}

export interface GitResult {
  stdout: string;
  /** stdout as git wrote it, for output that holds file contents (`cat-file --batch`). */
  stdoutBytes: Buffer;
  stderr: string;
  code: number;
}

export function createGit(dir: string, env: NodeJS.ProcessEnv = process.env): Git {
  const gitEnv: NodeJS.ProcessEnv = {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    LC_ALL: 'C',
  };
  return {
    dir,
    run: async (args, options = {}) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await runGit(dir, gitEnv, args, options);
        } catch (error) {
          if (attempt >= 3 || !(await removeStaleLock(dir, error))) throw error;
        }
      }
    },
    start: (args, options) => startGit(dir, gitEnv, args, options?.onStdout),
  };
}

/** Input held for a streaming git before the writer waits: bounds memory per stream, not per batch of changes. */
const STREAM_BUFFER_BYTES = 8 * 1024 * 1024;

function startGit(dir: string, env: NodeJS.ProcessEnv, args: string[], onStdout?: (chunk: Buffer) => void): GitInputStream {
  const child = spawn('git', args, { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', onStdout ?? ((chunk: Buffer) => out.push(chunk)));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin.on('error', () => undefined); // git may exit early; 'close' reports why
  const closed = new Promise<GitResult | Error>((resolve) => {
    child.on('error', (error) => resolve(new ToolError(`git ${args[0]}`, undefined, error.message)));
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8'), code: code ?? 128 });
    });
  });
  const settle = async () => {
    const result = await closed;
    if (result instanceof Error) throw result;
    if (result.code !== 0) throw classifyFailure(args, result);
    return result;
  };
  return {
    async write(chunk) {
      // Waiting for each 16 KB to drain costs a hand-over per wait (slow on a busy machine):
      // buffer up to a few MB, then wait for git to read, or for git to have gone (end() reports why).
      if (child.stdin.write(chunk) || child.stdin.writableLength < STREAM_BUFFER_BYTES) return;
      await Promise.race([new Promise((resolve) => child.stdin.once('drain', resolve)), closed]);
      const result = child.exitCode !== null || child.signalCode !== null ? await closed : undefined;
      if (result) await settle();
    },
    end() {
      child.stdin.end();
      return settle();
    },
    async kill() {
      child.kill('SIGKILL');
      await closed;
    },
  };
}

function runGit(
  dir: string,
  env: NodeJS.ProcessEnv,
  args: string[],
  options: { input?: string | Buffer; allowFailure?: boolean },
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(new ToolError(`git ${args[0]}`, undefined, error.message)));
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      const result = { stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8'), code: code ?? 128 };
      if (result.code === 0 || options.allowFailure) resolve(result);
      else reject(classifyFailure(args, result));
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all input; 'close' reports why
    child.stdin.end(options.input ?? '');
  });
}

/** A lock older than this was left by a git that died (killed with its consumer): git itself never holds one that long here. */
const STALE_LOCK_MS = 10_000;

/**
 * git refuses to start while a `*.lock` file exists, and one that was killed
 * leaves it behind: every later batch would fail for ever. git fails before
 * changing anything when it cannot take a lock, so removing a stale one and
 * running again is safe.
 */
async function removeStaleLock(dir: string, error: unknown): Promise<boolean> {
  if (!(error instanceof ToolError)) return false;
  const lock = /Unable to create '([^']+\.lock)': File exists/.exec(error.stderr)?.[1];
  if (!lock) return false;
  const path = resolve(dir, lock);
  const age = await stat(path).then((info) => Date.now() - info.mtimeMs, () => Infinity);
  if (age === Infinity) return true; // gone meanwhile: just run again
  if (age < STALE_LOCK_MS) {
    await new Promise((done) => setTimeout(done, Math.min(1000, STALE_LOCK_MS - age)));
    return true;
  }
  await rm(path, { force: true });
  return true;
}

const NETWORK = /Could not resolve host|Connection refused|Connection timed out|unable to access|Could not read from remote|early EOF|The remote end hung up|does not appear to be a git repository/i;

function classifyFailure(args: string[], result: GitResult): Error {
  const command = redact(`git ${args.filter((arg) => !arg.startsWith('-')).slice(0, 2).join(' ')}`);
  const stderr = redact(result.stderr);
  if (NETWORK.test(stderr)) return new TransientError(`${command}: remote unreachable: ${stderr.trim().split('\n').pop()}`);
  return new ToolError(command, result.code, stderr);
}
