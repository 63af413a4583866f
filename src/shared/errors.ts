// A few error classes; only the CLI's main maps them to exit codes and only
// the consumer loop maps them to ack / requeue / dead-letter.

export class PackuilonError extends Error {
  override name = 'PackuilonError';
}

/** Bad flags or arguments: exit 2. */
export class UsageError extends PackuilonError {
  override name = 'UsageError';
}

/** Bad configuration, template map, source-image map or template: exit 2. */
export class ConfigError extends PackuilonError {
  override name = 'ConfigError';
}

/** A bad profile or message. Reported, recorded, not retried until it changes. */
export class InputError extends PackuilonError {
  override name = 'InputError';
  constructor(
    readonly profile: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`profile ${profile}: ${field ? `${field}: ` : ''}${problem}`);
  }
}

/** Network, broker, git push race: retried (exit 1). */
export class TransientError extends PackuilonError {
  override name = 'TransientError';
}

/** An outside tool (git, packer, rally) failed: command, exit code, last stderr lines. */
export class ToolError extends PackuilonError {
  override name = 'ToolError';
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    super(`${command} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}${tail ? `: ${tail}` : ''}`);
  }
}

/** A bug in Packuilon. */
export class InternalError extends PackuilonError {
  override name = 'InternalError';
}

export const EXIT = { ok: 0, retry: 1, usage: 2, verdict: 3 } as const;

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.usage;
  return EXIT.retry;
}

export function messageOf(error: unknown): string {
  if (error instanceof PackuilonError) return error.message;
  if (error instanceof Error) return `internal error: ${error.message}`;
  return `internal error: ${String(error)}`;
}

/**
 * Secrets in URLs (`scheme://user:password@host`) never reach a log line or an
 * error. The password runs to the last `@` before the path (a `/`) or
 * whitespace, so one with `@`, `:` or other specials written unescaped is
 * masked whole; a query that holds an `@` may be masked too (better too much).
 */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/\s]*:)[^\s/]*@/gi, '$1***@');
}
