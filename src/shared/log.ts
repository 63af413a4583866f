import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { redact } from './errors.js';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug' | 'child' | 'level'>;

/**
 * One JSON line per event on stderr (stdout carries results). Secrets are
 * masked twice: by key name, and in any URL that carries a password.
 */
export function createLogger(env: NodeJS.ProcessEnv, destination?: DestinationStream): Logger {
  return pino(
    {
      level: env.LOG_LEVEL ?? 'info',
      base: { name: 'packuilon' },
      redact: { paths: ['password', 'token', '*.password', '*.token', 'headers.authorization'], censor: '***' },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<typeof method>,
          );
        },
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for library callers and pure tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
