import { Branches, MergeRequestNotes, MergeRequests, Users } from '@gitbeaker/rest';
import { createRequesterFn, type FormattedResponse, type ResponseBodyTypes } from '@gitbeaker/requester-utils';
import * as z from 'zod/mini';
import '../shared/zod.js';
import { ForgeError, saidInBody } from './errors.js';
import { keyOfRequest } from './marker.js';
import type { Forge, ForgeOptions, ForgeRequest, PipelineState, RequestDraft } from './types.js';

// Only the fields we use, leniently: GitLab adds fields every release.
const GitlabMergeRequest = z.looseObject({
  iid: z.number(),
  title: z.string(),
  description: z.nullable(z.optional(z.string())),
  source_branch: z.string(),
  web_url: z.string(),
  created_at: z.string(),
  sha: z.nullable(z.optional(z.string())),
  head_pipeline: z.nullable(z.optional(z.looseObject({ status: z.string() }))),
});
const GitlabUser = z.looseObject({ id: z.number(), username: z.string() });

/** Failure of one HTTP call, before the adapter says which step it was. */
class HttpFailure extends Error {
  constructor(
    readonly status: number | undefined,
    readonly url: string,
    readonly said: string,
  ) {
    super(`HTTP ${status ?? '-'} ${said}`);
  }
}

/**
 * gitbeaker with a requester of our own: calls go through the retrying
 * forge fetch (gitbeaker's own retries 429/502 for a few milliseconds and
 * ignores Retry-After), and failures keep their status for our messages.
 */
function requesterFor(fetchFn: typeof fetch) {
  return createRequesterFn(
    (_service, options) => Promise.resolve(options),
    async (endpoint: string, options?: Record<string, unknown>): Promise<FormattedResponse> => {
      const { prefixUrl, searchParams, method, headers, body, signal } = (options ?? {}) as {
        prefixUrl?: string;
        searchParams?: string;
        method?: string;
        headers?: Record<string, string>;
        body?: string;
        signal?: AbortSignal;
      };
      const url = new URL(endpoint, prefixUrl?.endsWith('/') ? prefixUrl : `${prefixUrl ?? ''}/`);
      url.search = searchParams ?? '';
      let response: Response;
      try {
        response = await fetchFn(url, { method, headers, body, signal });
      } catch (error) {
        throw new HttpFailure(undefined, url.href, (error as Error).message);
      }
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
      const text = await response.text();
      let parsed: unknown = text;
      if (type === 'application/json' && text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (!response.ok) throw new HttpFailure(response.status, url.href, saidInBody(parsed));
      const answer = response.status === 204 ? null : type === 'application/json' ? ((parsed || {}) as ResponseBodyTypes) : text;
      return { body: answer, headers: Object.fromEntries(response.headers.entries()), status: response.status };
    },
  );
}

export function createGitlabForge(options: ForgeOptions): Forge {
  const common = { host: options.url.replace(/\/+$/, ''), token: options.token, requesterFn: requesterFor(options.fetch), queryTimeout: 60_000 };
  const mergeRequests = new MergeRequests(common);
  const notes = new MergeRequestNotes(common);
  const branches = new Branches(common);
  const users = new Users(common);
  const project = options.project;

  const call = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof HttpFailure) throw new ForgeError('gitlab', project, step, error.status, error.url, error.said, options.tokenEnv);
      if (error instanceof z.core.$ZodError) throw new ForgeError('gitlab', project, step, 200, options.url, `unexpected answer: ${error.issues[0]?.path.join('.')} ${error.issues[0]?.message}`, options.tokenEnv);
      throw error;
    }
  };

  const toRequest = (raw: unknown): ForgeRequest | null => {
    const mr = z.parse(GitlabMergeRequest, raw);
    const key = keyOfRequest(mr.source_branch, mr.description);
    if (!key) return null;
    return {
      id: mr.iid,
      key,
      branch: mr.source_branch,
      title: mr.title,
      body: mr.description ?? '',
      url: mr.web_url,
      createdAt: mr.created_at,
      ...(mr.sha ? { headSha: mr.sha } : {}),
    };
  };

  const userIds = async (names: string[], step: string): Promise<number[]> => {
    const ids: number[] = [];
    for (const username of names) {
      const found = await call(step, async () => z.parse(z.array(GitlabUser), await users.all({ username })));
      const user = found.find((candidate) => candidate.username === username);
      if (user) ids.push(user.id);
      else options.log.warn({ username }, 'gitlab user not found; not assigned');
    }
    return ids;
  };

  return {
    kind: 'gitlab',
    project,
    async listOpenRequests() {
      const all = await call('list open merge requests', () => mergeRequests.all({ projectId: project, state: 'opened', perPage: 100 }));
      return all.map(toRequest).filter((request): request is ForgeRequest => request !== null);
    },
    async openRequest(draft: RequestDraft) {
      const assigneeIds = await userIds(options.assignees, 'look up assignees');
      const reviewerIds = await userIds(options.reviewers, 'look up reviewers');
      const created = await call('open merge request', () =>
        mergeRequests.create(project, draft.branch, draft.base, draft.title, {
          description: draft.body,
          removeSourceBranch: true,
          ...(options.labels.length ? { labels: options.labels.join(',') } : {}),
          ...(assigneeIds.length ? { assigneeIds } : {}),
          ...(reviewerIds.length ? { reviewerIds } : {}),
        }),
      );
      const request = toRequest(created);
      if (!request) throw new ForgeError('gitlab', project, 'open merge request', 201, options.url, 'the new request lacks its marker', options.tokenEnv);
      if (options.autoMerge) {
        // Right after creation GitLab may not have the pipeline yet (405/422): a warning, the next update tries again.
        try {
          await call('set auto-merge', () => mergeRequests.merge(project, request.id, { mergeWhenPipelineSucceeds: true, shouldRemoveSourceBranch: true }));
        } catch (error) {
          options.log.warn({ imageKey: draft.key, request: request.url, err: (error as Error).message }, 'auto-merge not set');
        }
      }
      return request;
    },
    async updateRequest(request, change) {
      await call('update merge request', () => mergeRequests.edit(project, request.id, { title: change.title, description: change.body }));
    },
    async closeRequest(request, comment) {
      await call('comment on merge request', () => notes.create(project, request.id, comment));
      await call('close merge request', () => mergeRequests.edit(project, request.id, { stateEvent: 'close' }));
    },
    async comment(request, body) {
      await call('comment on merge request', () => notes.create(project, request.id, body));
    },
    async deleteBranch(branch) {
      try {
        await call('delete branch', () => branches.remove(project, branch));
      } catch (error) {
        // GitLab says 404 for a missing project too: only "Branch Not Found" means already gone.
        if (error instanceof ForgeError && error.status === 404 && /Branch Not Found/i.test(error.message)) return;
        throw error;
      }
    },
    async pipelineState(request) {
      const shown = await call('read merge request', async () => z.parse(GitlabMergeRequest, await mergeRequests.show(project, request.id)));
      return pipelineStateOf(shown.head_pipeline?.status);
    },
  };
}

function pipelineStateOf(status: string | undefined): PipelineState {
  switch (status) {
    case undefined:
      return 'none';
    case 'success':
    case 'failed':
    case 'canceled':
    case 'skipped':
    case 'running':
      return status;
    default:
      return 'pending'; // created, waiting_for_resource, preparing, pending, scheduled, manual
  }
}
