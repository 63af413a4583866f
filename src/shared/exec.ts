import { execa } from 'execa';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { ToolError } from './errors.js';

// The one execa caller. Arguments are always an array and no shell ever runs
// (execa's `shell` stays off), so a value can't become a command. The child runs
// in a process group of its own: a cancel or a timeout sends SIGTERM to the tool
// alone (Packer and Rally clean up on it), and after the grace period, or once
// the tool has exited, SIGKILL to the whole group so nothing it started is left.

export type ToolStream = 'stdout' | 'stderr';

export interface RunToolOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Past it the tool gets SIGTERM, then SIGKILL after `killGraceMs`; the error has `timedOut`. */
  timeoutMs?: number;
  /** Aborting it cancels the tool the same way; the error has `cancelled`. */
  signal?: AbortSignal;
  /** Every output line (without its newline) as it arrives; lines longer than 64 KiB come in pieces. */
  onLine?: (stream: ToolStream, line: string) => void;
  /** Text written to the tool's stdin (stdin is closed otherwise). */
  input?: string;
  /** Between SIGTERM and SIGKILL [10 s]. */
  killGraceMs?: number;
  /** Bytes of stdout and of stderr kept in the result: the tail [1 MiB each]. */
  maxCaptureBytes?: number;
  /** Exit codes that count as success; another one throws a ToolError [none: every exit code is returned]. */
  okExitCodes?: readonly number[];
}

export interface ToolResult {
  exitCode: number;
  /** The tail of the output, at most `maxCaptureBytes`. */
  stdout: string;
  stderr: string;
  /** Whether the start of stdout / stderr was dropped to stay within the cap. */
  truncated: { stdout: boolean; stderr: boolean };
}

export type ToolFailureKind = 'not-installed' | 'cannot-run' | 'timeout' | 'cancelled' | 'signal' | 'exit';

/** Why a tool did not give a usable exit: `kind` says which, with the typed fields the callers test. */
export class ToolRunError extends ToolError {
  override name = 'ToolRunError';
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  constructor(
    command: string,
    readonly kind: ToolFailureKind,
    message: string,
    details: { exitCode?: number; signal?: NodeJS.Signals; stdout?: string; stderr?: string } = {},
  ) {
    super(command, details.exitCode, details.stderr ?? '');
    this.message = message;
    this.timedOut = kind === 'timeout';
    this.cancelled = kind === 'cancelled';
    this.signal = details.signal;
    this.stdout = details.stdout ?? '';
  }
  /** The signal that ended the tool, when one did. */
  readonly signal: NodeJS.Signals | undefined;
  readonly stdout: string;
}

const INSTALL_HINTS: Record<string, string> = {
  packer: 'apt-get install packer (Debian), or a release from HashiCorp',
  rally: 'apt-get install rally python3-rally-openstack',
  'gitlab-ci-local': 'npm install --save-dev gitlab-ci-local@4.73.0 (the newest that runs on Node 20)',
  rsync: 'apt-get install rsync',
  git: 'apt-get install git',
  openstack: 'apt-get install python3-openstackclient',
};

const DEFAULT_GRACE_MS = 10_000;
const DEFAULT_CAPTURE = 1024 * 1024;
const MAX_LINE = 64 * 1024;

/** The last `limit` bytes of a stream's text (approximately: counted in UTF-16 units). */
class Tail {
  private chunks: string[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(text: string): void {
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const excess = this.size - this.limit;
      const first = this.chunks[0]!;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.slice(excess);
        this.size -= excess;
      }
    }
  }
  text(): string {
    return this.chunks.join('');
  }
}

function follow(stream: Readable | null | undefined, name: ToolStream, tail: Tail, onLine: RunToolOptions['onLine']): Promise<void> {
  if (!stream) return Promise.resolve();
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (text: string) => {
    partial += text;
    let newline: number;
    while ((newline = partial.indexOf('\n')) >= 0) {
      onLine?.(name, partial.slice(0, newline).replace(/\r$/, ''));
      partial = partial.slice(newline + 1);
    }
    while (partial.length > MAX_LINE) {
      onLine?.(name, partial.slice(0, MAX_LINE));
      partial = partial.slice(MAX_LINE);
    }
  };
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      const text = decoder.write(chunk);
      tail.push(text);
      if (onLine) emit(text);
    });
    const end = () => {
      const rest = decoder.end();
      tail.push(rest);
      if (onLine) {
        emit(rest);
        if (partial) onLine(name, partial);
        partial = '';
      }
      resolve();
    };
    stream.once('end', end);
    stream.once('error', end);
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Run an outside tool: `command` with `args` as an array, never through a shell. */
export async function runTool(command: string, args: readonly string[], options: RunToolOptions = {}): Promise<ToolResult> {
  const label = command;
  if (options.signal?.aborted) throw new ToolRunError(label, 'cancelled', `${label}: cancelled before it started`);
  const limit = options.maxCaptureBytes ?? DEFAULT_CAPTURE;
  const grace = options.killGraceMs ?? DEFAULT_GRACE_MS;
  const subprocess = execa(command, [...args], {
    cwd: options.cwd,
    env: options.env,
    reject: false,
    buffer: false,
    detached: true,
    shell: false,
    stripFinalNewline: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  const pid = subprocess.pid;
  const out = new Tail(limit);
  const err = new Tail(limit);
  const reading = Promise.all([follow(subprocess.stdout, 'stdout', out, options.onLine), follow(subprocess.stderr, 'stderr', err, options.onLine)]);

  let stopping: 'timeout' | 'cancelled' | undefined;
  let forceTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'cancelled') => {
    if (stopping || pid === undefined) return;
    stopping = why;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Exited already.
    }
    forceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
    forceTimer.unref();
  };
  // Once the tool has exited after a stop, what it started goes at once: it may
  // hold our pipes open, and the output would not end before it does.
  subprocess.once('exit', () => {
    if (stopping && pid !== undefined) killGroup(pid, 'SIGKILL');
  });
  const onAbort = () => stop('cancelled');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timeoutTimer = options.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), options.timeoutMs);

  const result = await subprocess;
  await reading;
  options.signal?.removeEventListener('abort', onAbort);
  clearTimeout(timeoutTimer);
  clearTimeout(forceTimer);
  // Whatever the tool started and left behind (a provisioner's sleep) goes with it.
  if (pid !== undefined && stopping) killGroup(pid, 'SIGKILL');

  const stdout = out.text();
  const stderr = err.text();
  const details = { stdout, stderr, ...(result.signal ? { signal: result.signal } : {}), ...(result.exitCode === undefined ? {} : { exitCode: result.exitCode }) };
  const code = (result as { code?: string }).code;
  if (pid === undefined || code === 'ENOENT' || code === 'EACCES') {
    const why = (result.shortMessage ?? '').includes('"cwd" option is invalid') ? `no such directory ${options.cwd ?? ''}` : undefined;
    if (code === 'ENOENT' && !why) {
      const hint = INSTALL_HINTS[command.split('/').pop() ?? command];
      throw new ToolRunError(label, 'not-installed', `${label}: not installed (not found on PATH)${hint ? `; install it: ${hint}` : ''}`);
    }
    throw new ToolRunError(label, 'cannot-run', `${label}: cannot run: ${why ?? (result.cause as Error | undefined)?.message ?? result.shortMessage}`);
  }
  if (stopping === 'timeout') {
    throw new ToolRunError(label, 'timeout', `${label}: timed out after ${options.timeoutMs! / 1000} s and was stopped`, details);
  }
  if (stopping === 'cancelled') {
    throw new ToolRunError(label, 'cancelled', `${label}: cancelled${result.exitCode === undefined ? '' : ` (it exited ${result.exitCode})`}`, details);
  }
  if (result.exitCode === undefined) {
    throw new ToolRunError(label, 'signal', `${label}: killed by ${result.signal ?? 'a signal'}`, details);
  }
  if (options.okExitCodes && !options.okExitCodes.includes(result.exitCode)) {
    const tailLines = stderr.trim().split('\n').slice(-3).join(' | ');
    throw new ToolRunError(label, 'exit', `${label} failed (exit ${result.exitCode})${tailLines ? `: ${tailLines}` : ''}`, details);
  }
  return { exitCode: result.exitCode, stdout, stderr, truncated: { stdout: out.truncated, stderr: err.truncated } };
}
