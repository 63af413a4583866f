export { createGit, type Git } from './git.js';
export { ensureCommits, type BaseView, type EnsureCommitsResult } from './ensure-commits.js';
export { readHistory, type HistoryEntry } from './history.js';
export { recordEvents, readEvents, eventCommit, NOTES_REF, type ImageEvent } from './notes.js';
export { commitFile, type FileCommitOptions } from './file-commit.js';
