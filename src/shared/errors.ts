// A few error classes; only the CLI's main maps them to exit codes and only
// the consumer loop maps them to ack / requeue / dead-letter.

export class PackuilonError extends Error {
  override name = 'PackuilonError';
  constructor(message: string) {
    // Every message leaves as one bounded line, whoever built it.
    super(oneLine(message));
  }
}

/** Characters of a value shown in a message; the rest is cut (a 1 MB value is not echoed). */
export const VALUE_CHARS = 80;
const MESSAGE_CHARS = 1000;

/** A value for a message: JSON-quoted (so one line, control characters visible), cut to ~80 characters. */
export function quote(value: string): string {
  const quoted = JSON.stringify(value.length > VALUE_CHARS * 2 ? value.slice(0, VALUE_CHARS * 2) : value);
  return quoted.length - 2 > VALUE_CHARS || value.length > VALUE_CHARS * 2 ? `${quoted.slice(0, VALUE_CHARS + 1)}…"` : quoted;
}

/**
 * One line: line breaks become ` | `, other control characters are escaped,
 * quoted runs longer than ~80 characters are cut (a parser's snippet of the
 * input, a value echoed by a library), and the whole stays under 1,000 characters.
 */
export function oneLine(text: string): string {
  let line = text.length > MESSAGE_CHARS * 4 ? text.slice(0, MESSAGE_CHARS * 4) : text;
  // V8's JSON.parse quotes a snippet of the input (`Unexpected token 'x', "…" is not valid JSON`), raw lines and all.
  line = line.replace(/, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON/, '');
  line = line.replace(/\s*(?:\r\n|[\r\n\u2028\u2029])\s*/g, ' | ');
  line = line.replace(/[\u0000-\u001f\u007f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  line = line.replace(/"((?:[^"\\]|\\.){80,})"/g, (_, inner: string) => `"${inner.slice(0, VALUE_CHARS)}…"`);
  return line.length > MESSAGE_CHARS || text.length > MESSAGE_CHARS * 4 ? `${line.slice(0, MESSAGE_CHARS)}…` : line;
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
  /** The problem alone, one line (logged next to the profile and field). */
  readonly problem: string;
  constructor(
    readonly profile: string,
    readonly field: string,
    problem: string,
  ) {
    super(`profile ${profile}: ${field ? `${field}: ` : ''}${problem}`);
    this.problem = oneLine(problem);
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
  if (error instanceof Error) return `internal error: ${oneLine(error.message)}`;
  return `internal error: ${oneLine(String(error))}`;
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
