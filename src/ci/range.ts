import { UsageError } from '../shared/errors.js';

/** A commit as a flag or a CI variable names it, before git has confirmed it exists. */
export interface RangeRequest {
  /** null: everything (a first push); 'parent': the parent of `to` (a run outside CI). */
  from: { sha: string; source: string } | null | 'parent';
  to: { sha: string; source: string } | 'HEAD';
  /** Where the range came from, for the text output. */
  basis: 'flags' | 'push' | 'merge-request' | 'first-push' | 'local';
}

const SHA = /^[0-9a-f]{7,64}$/i;
const ZERO = /^0+$/;

function sha(value: string, source: string): { sha: string; source: string } {
  if (!SHA.test(value)) throw new UsageError(`${source}: ${JSON.stringify(value.slice(0, 80))} is not a commit SHA (7 to 64 hex digits)`);
  return { sha: value.toLowerCase(), source };
}

/**
 * The range `ci plan` covers. Flags win; else GitLab's variables: a merge
 * request runs from its diff base, a push from the commit before it, and the
 * all-zero before-SHA of a new branch means everything.
 */
export function planRange(flags: { from?: string; to?: string }, env: NodeJS.ProcessEnv): RangeRequest {
  const to = flags.to !== undefined ? sha(flags.to, '--to') : env.CI_COMMIT_SHA ? sha(env.CI_COMMIT_SHA, 'CI_COMMIT_SHA') : 'HEAD';
  if (flags.from !== undefined) {
    const from = sha(flags.from, '--from');
    return { from: ZERO.test(from.sha) ? null : from, to, basis: 'flags' };
  }
  if (env.CI_MERGE_REQUEST_DIFF_BASE_SHA) {
    return { from: sha(env.CI_MERGE_REQUEST_DIFF_BASE_SHA, 'CI_MERGE_REQUEST_DIFF_BASE_SHA'), to, basis: 'merge-request' };
  }
  if (env.CI_COMMIT_BEFORE_SHA) {
    const before = sha(env.CI_COMMIT_BEFORE_SHA, 'CI_COMMIT_BEFORE_SHA');
    return ZERO.test(before.sha) ? { from: null, to, basis: 'first-push' } : { from: before, to, basis: 'push' };
  }
  return { from: 'parent', to, basis: 'local' };
}
