export { parseProfileIndex, createMatcher, SAFE_PROFILE_NAME, type IndexEntry, type Matcher } from './profile-index.js';
export { createHttpProfileSource, createDirectoryProfileSource, type ProfileSource } from './profile-source.js';
export { readState, saveState, DetectorState, type ProfileState, type StateFile } from './state.js';
export { planFromListing, scanForChanges, type ScanPlan, type ScanResult } from './scan.js';
export { memoKey } from './index-memo.js';
export { planPass, rememberPass, type PassPlan } from './plan-pass.js';
export { applyScan } from './next-state.js';
