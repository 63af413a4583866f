// Services a test run started must not outlive it: killed synchronously when the process exits or is
// interrupted, whichever test support started them (RabbitMQ, Keystone + Glance).
const cleanups = new Set<() => void>();
let hooked = false;

export function addExitCleanup(clean: () => void): void {
  cleanups.add(clean);
  if (hooked) return;
  hooked = true;
  const cleanAll = (): void => {
    for (const each of cleanups) each();
    cleanups.clear();
  };
  process.once('exit', cleanAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanAll();
      process.exit(130);
    });
  }
}

export function removeExitCleanup(clean: () => void): void {
  cleanups.delete(clean);
}
