import type { ScanResult } from './scan.js';
import { DetectorState } from './state.js';

/**
 * The state after a pass, before the changed profiles are handed on: entries
 * that did not move keep their record, recompiles take their new mtime, bad
 * input is recorded as handled, and profiles gone from the index are dropped.
 */
export function carryOverState(scan: ScanResult, state: DetectorState): DetectorState {
  const next = new DetectorState();
  for (const entry of scan.matched) if (state.isAt(entry.name, entry.mtime)) next.copyFrom(state, entry.name);
  for (const { entry, digest } of scan.unchanged) {
    next.set(entry.name, { mtime: entry.mtime, digest, outcome: state.get(entry.name)?.outcome ?? 'unchanged' });
  }
  for (const { entry } of scan.bad) next.set(entry.name, { mtime: entry.mtime, digest: '', outcome: 'rejected' });
  restorePrevious(next, state, scan.failed.map(({ entry }) => entry.name));
  return next;
}

/** Work not handed on keeps its old record (or none), so the next pass tries it again. */
export function restorePrevious(next: DetectorState, state: DetectorState, names: string[]): void {
  for (const name of names) next.copyFrom(state, name);
}
