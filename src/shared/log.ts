import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { redact, UsageError } from './errors.js';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug' | 'child' | 'level'>;

export type LogFormat = 'json' | 'pretty';

/** Where log lines go: anything with a synchronous-enough write (process.stderr, a test's buffer). */
export interface LogSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * One JSON line per event on stderr (stdout carries results). Secrets are
 * masked twice: by key name, and in any URL that carries a password, in the
 * message and in string fields.
 */
export function createLogger(env: NodeJS.ProcessEnv, destination?: DestinationStream): Logger {
  return pino(
    {
      level: env.LOG_LEVEL ?? 'info',
      base: { name: 'packuilon' },
      redact: { paths: ['password', 'token', '*.password', '*.token', 'headers.authorization'], censor: '***' },
      hooks: {
        // Last line of defence, on the serialized line: child bindings and fields never pass logMethod.
        streamWrite: redactJsonLine,
        logMethod(args, method) {
          method.apply(this, args.map((arg) => redactValue(arg, 2)) as Parameters<typeof method>);
        },
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** URL passwords masked in strings, and in the string fields of objects (`{ err: message }`) two levels down. */
function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth === 0 || value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Error) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, field] of Object.entries(value)) {
    const masked = redactValue(field, depth - 1);
    if (masked !== field) (copy ??= { ...(value as Record<string, unknown>) })[key] = masked;
  }
  return copy ?? value;
}

/**
 * `redact` for a JSON line: user and password stay inside one JSON string
 * (an escaped `\"` counts as a character), so the line's structure survives.
 */
export function redactJsonLine(line: string): string {
  return line.replace(/([a-z][a-z0-9+.-]*:\/\/(?:[^:/\s"\\]|\\.)*:)(?:[^\s/"\\]|\\.)*@/gi, '$1***@');
}

/** LOG_FORMAT=json|pretty decides; unset, a terminal on stderr gets pretty lines and anything else JSON. */
export function logFormatOf(env: NodeJS.ProcessEnv, stderrIsTTY: boolean): LogFormat {
  const wanted = env.LOG_FORMAT?.trim().toLowerCase();
  if (wanted === undefined || wanted === '') return stderrIsTTY ? 'pretty' : 'json';
  if (wanted === 'json' || wanted === 'pretty') return wanted;
  throw new UsageError(`LOG_FORMAT: expected json or pretty, received ${JSON.stringify(env.LOG_FORMAT?.slice(0, 40))}`);
}

export type Prettifier = (line: string) => string;

/**
 * pino-pretty, imported only for the pretty format, so a JSON-logging start-up
 * (cron, cdp-listend, CI) never loads it; undefined for JSON. A bad
 * LOG_FORMAT is a usage error here, before the command runs.
 */
export async function loadPrettifier(env: NodeJS.ProcessEnv, sink: LogSink): Promise<Prettifier | undefined> {
  if (logFormatOf(env, sink.isTTY === true) === 'json') return undefined;
  // CommonJS: under tsx the named export exists, in the esbuild bundle only `default` has it.
  const pretty = (await import('pino-pretty')) as unknown as { prettyFactory?: typeof import('pino-pretty').prettyFactory; default: { prettyFactory: typeof import('pino-pretty').prettyFactory } };
  const prettyFactory = pretty.prettyFactory ?? pretty.default.prettyFactory;
  return prettyFactory({ colorize: sink.isTTY === true && !env.NO_COLOR, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }) as Prettifier;
}

/**
 * The logger a command gets, on `sink`. Pretty lines are formatted in-thread
 * and written synchronously: no worker, no lines lost when the process ends.
 */
export function createCliLogger(env: NodeJS.ProcessEnv, sink: LogSink, prettify?: Prettifier): Logger {
  if (prettify) return createLogger(env, { write: (line: string) => void sink.write(prettify(line)) });
  return createLogger(env, sink === process.stderr ? undefined : { write: (line: string) => void sink.write(line) });
}

/** A logger that drops everything, for library callers and pure tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
