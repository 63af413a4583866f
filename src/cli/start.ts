import { main } from './main.js';

/**
 * The process edge: signals become an abort, the exit code comes from main
 * alone. Shared by the ESM entry (run.ts) and the start-up snapshot's
 * (snapshot.ts), which differ only in where the arguments start.
 */
export function startCli(
  argv: string[],
  options: {
    /**
     * Exit as soon as main returns (the snapshot's `detect`, which leaves nothing running and
     * writes its logs and report synchronously) instead of tearing the environment down:
     * a few ms of every pass cdp-listend starts.
     */
    exitWhenDone?: boolean;
  } = {},
): void {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (signalled) process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
      signalled = signal;
      controller.abort();
    });
  }
  // `packuilon render x.json | head`: the reader went away. Like a producer
  // killed by SIGPIPE, stop here, quietly; that is not a failure of the command.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    throw error;
  });
  void main(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stopSignal: controller.signal }).then((code) => {
    process.exitCode = code;
    if (options.exitWhenDone) process.exit(code);
  });
}
