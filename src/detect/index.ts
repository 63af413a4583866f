export { parseProfileIndex, createMatcher, SAFE_PROFILE_NAME, type IndexEntry, type Matcher } from './profile-index.js';
export { createHttpProfileSource, createDirectoryProfileSource, type ProfileSource } from './profile-source.js';
export { readState, saveState, DetectorState, type ProfileState, type StateFile } from './state.js';
export { scanForChanges, type ScanResult } from './scan.js';
export { applyScan } from './next-state.js';
