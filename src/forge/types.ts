import type { ImageKey } from '../model.js';
import type { ForgeKind } from './errors.js';

/** One open merge request (GitLab) or pull request (GitHub) that Packuilon opened. */
export interface ForgeRequest {
  /** GitLab's iid, GitHub's number. */
  id: number;
  key: ImageKey;
  branch: string;
  title: string;
  body: string;
  url: string;
  createdAt: string;
  /** The head commit the forge knows, when it says. */
  headSha?: string;
}

export interface RequestDraft {
  key: ImageKey;
  branch: string;
  base: string;
  title: string;
  /** Markdown; `withMarker` adds the hidden marker that finds it again. */
  body: string;
}

export type PipelineState = 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'none';

/**
 * The few things merge-request mode asks of a forge. The forge's answers are
 * the truth: every run lists the open requests and reconciles against them.
 */
export interface Forge {
  readonly kind: ForgeKind;
  readonly project: string;
  /** Open requests carrying Packuilon's marker, from branches `packuilon/<key>`. */
  listOpenRequests(): Promise<ForgeRequest[]>;
  /** Opens a request, then applies labels, assignees, reviewers and auto-merge as configured. */
  openRequest(draft: RequestDraft): Promise<ForgeRequest>;
  updateRequest(request: ForgeRequest, change: { title: string; body: string }): Promise<void>;
  closeRequest(request: ForgeRequest, comment: string): Promise<void>;
  comment(request: ForgeRequest, body: string): Promise<void>;
  deleteBranch(branch: string): Promise<void>;
  pipelineState(request: ForgeRequest): Promise<PipelineState>;
}

export interface ForgeOptions {
  /** The API's base: GitLab's instance URL (a path prefix included), GitHub's API URL. */
  url: string;
  project: string;
  token: string;
  /** Only for messages: the variable the token came from. */
  tokenEnv: string;
  labels: string[];
  assignees: string[];
  reviewers: string[];
  autoMerge: boolean;
  fetch: typeof fetch;
  log: import('../shared/log.js').Logger;
}
