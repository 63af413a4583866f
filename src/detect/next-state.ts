import type { ScanResult } from './scan.js';
import type { DetectorState } from './state.js';

/**
 * The state after a pass, before the changed profiles are handed on:
 * recompiles take their new mtime, bad input is recorded as handled, and
 * profiles gone from the index are dropped. Entries that did not move, and
 * those that could not be downloaded, keep their record (the latter are
 * fetched again next pass, since their mtime still differs).
 */
export function applyScan(state: DetectorState, scan: ScanResult): void {
  for (const name of scan.gone) state.delete(name);
  for (const { entry, digest, bytes } of scan.unchanged) {
    state.set(entry.name, { mtime: entry.mtime, digest, outcome: state.get(entry.name)?.outcome ?? 'unchanged', bytes });
  }
  for (const { entry } of scan.bad) state.set(entry.name, { mtime: entry.mtime, digest: '', outcome: 'rejected' });
}
