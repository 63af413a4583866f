import { Octokit } from '@octokit/rest';
import * as z from 'zod/mini';
import '../shared/zod.js';
import { ForgeError, saidInBody } from './errors.js';
import { keyOfRequest } from './marker.js';
import type { Forge, ForgeOptions, ForgeRequest, RequestDraft } from './types.js';

const GithubPull = z.looseObject({
  number: z.number(),
  node_id: z.string(),
  title: z.string(),
  body: z.nullable(z.optional(z.string())),
  html_url: z.string(),
  created_at: z.string(),
  head: z.looseObject({ ref: z.string(), sha: z.string() }),
});
const CombinedStatus = z.looseObject({ state: z.string(), total_count: z.number() });

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export function createGithubForge(options: ForgeOptions): Forge {
  const [owner, repo] = options.project.split('/') as [string, string];
  const project = options.project;
  const octokit = new Octokit({ auth: options.token, baseUrl: options.url.replace(/\/+$/, ''), request: { fetch: options.fetch }, log: silent, userAgent: 'packuilon' });

  const call = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      const failure = error as { status?: number; response?: { data?: unknown; url?: string }; request?: { url?: string }; message?: string };
      if (typeof failure.status === 'number') {
        const said = saidInBody(failure.response?.data) || (failure.message ?? '');
        throw new ForgeError('github', project, step, failure.status, failure.request?.url ?? options.url, said, options.tokenEnv);
      }
      if (error instanceof z.core.$ZodError) throw new ForgeError('github', project, step, 200, options.url, `unexpected answer: ${error.issues[0]?.path.join('.')} ${error.issues[0]?.message}`, options.tokenEnv);
      throw error;
    }
  };

  const toRequest = (raw: unknown): ForgeRequest | null => {
    const pull = z.parse(GithubPull, raw);
    const key = keyOfRequest(pull.head.ref, pull.body);
    if (!key) return null;
    return { id: pull.number, key, branch: pull.head.ref, title: pull.title, body: pull.body ?? '', url: pull.html_url, createdAt: pull.created_at, headSha: pull.head.sha };
  };

  return {
    kind: 'github',
    project,
    async listOpenRequests() {
      const pulls = await call('list open pull requests', () => octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: 'open', per_page: 100 }));
      return pulls.map(toRequest).filter((request): request is ForgeRequest => request !== null);
    },
    async openRequest(draft: RequestDraft) {
      const created = await call('open pull request', () => octokit.rest.pulls.create({ owner, repo, title: draft.title, head: draft.branch, base: draft.base, body: draft.body }));
      const pull = z.parse(GithubPull, created.data);
      const request = toRequest(pull);
      if (!request) throw new ForgeError('github', project, 'open pull request', 201, options.url, 'the new request lacks its marker', options.tokenEnv);
      if (options.labels.length) await call('label pull request', () => octokit.rest.issues.addLabels({ owner, repo, issue_number: pull.number, labels: options.labels }));
      if (options.assignees.length) await call('assign pull request', () => octokit.rest.issues.addAssignees({ owner, repo, issue_number: pull.number, assignees: options.assignees }));
      if (options.reviewers.length) await call('request reviewers', () => octokit.rest.pulls.requestReviewers({ owner, repo, pull_number: pull.number, reviewers: options.reviewers }));
      if (options.autoMerge) {
        // Auto-merge must be allowed in the repository's settings: a refusal is a warning, not a lost change.
        try {
          await call('enable auto-merge', () =>
            octokit.graphql('mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { clientMutationId } }', { id: pull.node_id }),
          );
        } catch (error) {
          options.log.warn({ imageKey: draft.key, request: request.url, err: (error as Error).message }, 'auto-merge not enabled');
        }
      }
      return request;
    },
    async updateRequest(request, change) {
      await call('update pull request', () => octokit.rest.pulls.update({ owner, repo, pull_number: request.id, title: change.title, body: change.body }));
    },
    async closeRequest(request, comment) {
      await call('comment on pull request', () => octokit.rest.issues.createComment({ owner, repo, issue_number: request.id, body: comment }));
      await call('close pull request', () => octokit.rest.pulls.update({ owner, repo, pull_number: request.id, state: 'closed' }));
    },
    async comment(request, body) {
      await call('comment on pull request', () => octokit.rest.issues.createComment({ owner, repo, issue_number: request.id, body }));
    },
    async deleteBranch(branch) {
      try {
        await call('delete branch', () => octokit.rest.git.deleteRef({ owner, repo, ref: `heads/${branch}` }));
      } catch (error) {
        // 422 "Reference does not exist": already gone, converged (a 404 is the repository or the token: not converged).
        if (error instanceof ForgeError && error.status === 422) return;
        throw error;
      }
    },
    async pipelineState(request) {
      if (!request.headSha) return 'none';
      const sha = request.headSha;
      const status = await call('read commit status', async () => z.parse(CombinedStatus, (await octokit.rest.repos.getCombinedStatusForRef({ owner, repo, ref: sha })).data));
      if (status.total_count === 0) return 'none';
      return status.state === 'success' ? 'success' : status.state === 'failure' || status.state === 'error' ? 'failed' : 'pending';
    },
  };
}
