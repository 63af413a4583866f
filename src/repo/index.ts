export { createGit, type Git } from './git.js';
export { ensureCommits, type BaseView, type EnsureCommitsResult } from './ensure-commits.js';
export { readHistory, type HistoryEntry } from './history.js';
export { fetchBranch, findBase, listImageFiles, readInputIds, viewOf } from './inputs.js';
export {
  ensureRequestBranches,
  fetchRequestBranches,
  deleteMergedBranches,
  readFilesAt,
  imageFilesAt,
  isLive,
  REQUEST_BRANCH_PREFIX,
  type RequestBranch,
  type RequestBranchesView,
} from './request-branches.js';
export { parseTrailerLines } from './trailers.js';
export { readRangeCommits, readPathChanges, type RangeCommit, type PathChange } from './range.js';
export { filesByKey, readBlobs, readTexts, resolveRef } from './tree.js';
export { recordEvents, readEvents, eventCommit, NOTES_REF, type ImageEvent } from './notes.js';
export { commitFile, type FileCommitOptions } from './file-commit.js';
