export { createGit, type Git } from './git.js';
export { ensureCommits, type BaseView, type EnsureCommitsResult } from './ensure-commits.js';
export { readHistory, type HistoryEntry } from './history.js';
export { fetchBranch, findBase, listImageFiles, readInputIds, viewOf } from './inputs.js';
