import type { LoadedConfig } from '../config/index.js';
import type { Logger } from '../shared/log.js';

/** What a command may touch of the outside world: tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopSignal?: AbortSignal;
}

export interface CommandContext {
  io: CliIo;
  log: Logger;
  /** Loads the config: --config, PACKUILON_CONFIG, ./packuilon.yaml; flags as overrides. */
  config(overrides?: Record<string, unknown>): LoadedConfig;
}

/** A flag's value when it was given as text (commander types options as unknown). */
export function textOption(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
