import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI in-process with captured output; logs are silenced unless LOG_LEVEL is set.
 * With PACKUILON_TEST_LOG_DIR set (scripts/test-loop.sh sets it), every run's
 * stderr is also appended to cli.log there as it is written, at debug level,
 * so a run that hangs leaves what it last did.
 */
export async function runCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; stopAfterMs?: number }): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const logDir = process.env.PACKUILON_TEST_LOG_DIR;
  const logFile = logDir ? join(logDir, 'cli.log') : undefined;
  if (logFile) appendFileSync(logFile, `--- ${new Date().toISOString()} packuilon ${args.join(' ')}\n`);
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: {
      write: (text: string) => {
        if (logFile) appendFileSync(logFile, text);
        return (stderr += text);
      },
    },
    env: { LOG_LEVEL: logFile ? 'debug' : 'silent', ...options.env },
    cwd: options.cwd,
    // As SIGTERM would: a consume that waits for messages that never come ends, and its report shows what it got.
    ...(options.stopAfterMs === undefined ? {} : { stopSignal: AbortSignal.timeout(options.stopAfterMs) }),
  });
  if (logFile) appendFileSync(logFile, `--- exit ${code}\n`);
  return { code, stdout, stderr };
}
