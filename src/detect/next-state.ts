import type { ScanResult } from './scan.js';
import type { DetectorState, ProfileState } from './state.js';

/**
 * The state after a pass, before the changed profiles are handed on: entries
 * that did not move keep their record, recompiles take their new mtime, bad
 * input is recorded as handled, and profiles gone from the index are dropped.
 */
export function carryOverState(scan: ScanResult, state: DetectorState): DetectorState {
  const next: DetectorState = new Map();
  for (const entry of scan.matched) {
    const known = state.get(entry.name);
    if (known && known.mtime === entry.mtime) next.set(entry.name, known);
  }
  for (const { entry, digest } of scan.unchanged) {
    next.set(entry.name, { mtime: entry.mtime, digest, outcome: state.get(entry.name)?.outcome ?? 'unchanged' });
  }
  for (const { entry } of scan.bad) next.set(entry.name, { mtime: entry.mtime, digest: '', outcome: 'rejected' });
  restorePrevious(next, state, scan.failed.map(({ entry }) => entry.name));
  return next;
}

/** Work not handed on keeps its old record (or none), so the next pass tries it again. */
export function restorePrevious(next: DetectorState, state: DetectorState, names: string[]): void {
  for (const name of names) {
    const known: ProfileState | undefined = state.get(name);
    if (known) next.set(name, known);
    else next.delete(name);
  }
}
