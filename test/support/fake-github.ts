// A fake GitHub REST API on loopback (api.github.com's paths, or GitHub
// Enterprise's under /api/v3): pull requests, comments, labels, assignees,
// reviewers, refs, commit statuses and the one GraphQL mutation for
// auto-merge, with GitHub's status codes, Link pagination and error bodies.
import { execFileSync } from 'node:child_process';
import { paginate, startFakeServer, type FakeRequest, type FakeServer, type Reply } from './fake-http.js';

export interface FakePull {
  number: number;
  node_id: string;
  state: 'open' | 'closed';
  title: string;
  body: string | null;
  html_url: string;
  created_at: string;
  updated_at: string;
  head: { ref: string; sha: string; label: string };
  base: { ref: string };
  labels: { name: string }[];
  assignees: { login: string }[];
  requested_reviewers: { login: string }[];
  auto_merge: { merge_method: string } | null;
  comments: string[];
}

export interface FakeGithub extends FakeServer {
  /** The API base URL to configure as forge.url. */
  apiUrl: string;
  pulls: FakePull[];
  deletedRefs: string[];
  /** Combined status per commit SHA. */
  statuses: Map<string, 'success' | 'failure' | 'pending'>;
}

export interface FakeGithubOptions {
  token: string;
  repository: string;
  /** `/api/v3` for GitHub Enterprise. */
  prefix?: string;
  bareRepo?: string;
}

const DOCS = 'https://docs.github.com/rest';

export async function startFakeGithub(options: FakeGithubOptions): Promise<FakeGithub> {
  const prefix = options.prefix ?? '';
  const [owner] = options.repository.split('/') as [string, string];
  const pulls: FakePull[] = [];
  const deletedRefs: string[] = [];
  const statuses = new Map<string, 'success' | 'failure' | 'pending'>();
  const now = () => new Date().toISOString();
  const notFound: Reply = { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };

  const handle = (request: FakeRequest): Reply => {
    // GitHub Enterprise serves GraphQL at /api/graphql beside /api/v3.
    const graphqlPath = prefix.endsWith('/v3') ? `${prefix.slice(0, -3)}/graphql` : `${prefix}/graphql`;
    if (!request.path.startsWith(`${prefix}/`) && request.path !== graphqlPath) return notFound;
    const auth = request.headers.authorization ?? '';
    if (auth !== `token ${options.token}` && auth !== `Bearer ${options.token}`) {
      return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' } };
    }
    if (request.path === graphqlPath && request.method === 'POST') return graphql(request);
    const rest = request.path.slice(prefix.length);
    const repoPath = `/repos/${options.repository}`;
    if (!rest.startsWith(`${repoPath}/`)) return notFound;
    const sub = rest.slice(repoPath.length);

    if (sub === '/pulls' && request.method === 'GET') {
      const state = request.query.get('state') ?? 'open';
      const head = request.query.get('head');
      const listed = pulls.filter((pull) => (state === 'all' || pull.state === state) && (!head || pull.head.label === head)).sort((a, b) => b.number - a.number);
      return paginate(request, listed.map(view), 30);
    }
    if (sub === '/pulls' && request.method === 'POST') {
      const { title, head, base, body } = request.body;
      const missing = ['title', 'head', 'base'].filter((field) => typeof request.body[field] !== 'string');
      if (missing.length) return validation(missing.map((field) => ({ resource: 'PullRequest', field, code: 'missing_field' })));
      if (pulls.some((pull) => pull.state === 'open' && pull.head.ref === head)) {
        return validation([{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${String(head)}.` }]);
      }
      const sha = options.bareRepo ? branchSha(options.bareRepo, String(head)) : '0'.repeat(40);
      if (!sha) return validation([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      const number = Math.max(0, ...pulls.map((pull) => pull.number)) + 1;
      const pull: FakePull = {
        number,
        node_id: `PR_kwDO${number.toString(36).padStart(6, '0')}`,
        state: 'open',
        title: String(title),
        body: typeof body === 'string' ? body : null,
        html_url: `http://github.example/${options.repository}/pull/${number}`,
        created_at: now(),
        updated_at: now(),
        head: { ref: String(head), sha, label: `${owner}:${String(head)}` },
        base: { ref: String(base) },
        labels: [],
        assignees: [],
        requested_reviewers: [],
        auto_merge: null,
        comments: [],
      };
      pulls.push(pull);
      return { status: 201, body: view(pull) };
    }
    const onePull = /^\/pulls\/(\d+)(\/requested_reviewers)?$/.exec(sub);
    if (onePull) {
      const pull = pulls.find((candidate) => candidate.number === Number(onePull[1]));
      if (!pull) return notFound;
      if (onePull[2] && request.method === 'POST') {
        const reviewers = request.body.reviewers;
        if (!Array.isArray(reviewers)) return validation([{ resource: 'PullRequest', field: 'reviewers', code: 'invalid' }]);
        pull.requested_reviewers.push(...reviewers.map((login) => ({ login: String(login) })));
        return { status: 201, body: view(pull) };
      }
      if (request.method === 'GET') return { status: 200, body: view(pull) };
      if (request.method === 'PATCH') {
        const { title, body, state } = request.body;
        if (typeof title === 'string') pull.title = title;
        if (typeof body === 'string') pull.body = body;
        if (state === 'closed' || state === 'open') pull.state = state;
        pull.updated_at = now();
        return { status: 200, body: view(pull) };
      }
    }
    const issue = /^\/issues\/(\d+)\/(comments|labels|assignees)$/.exec(sub);
    if (issue && request.method === 'POST') {
      const pull = pulls.find((candidate) => candidate.number === Number(issue[1]));
      if (!pull) return notFound;
      if (issue[2] === 'comments') {
        if (typeof request.body.body !== 'string' || !request.body.body) return validation([{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);
        pull.comments.push(request.body.body);
        return { status: 201, body: { id: pull.comments.length, body: request.body.body } };
      }
      if (issue[2] === 'labels') {
        pull.labels.push(...(request.body.labels as string[]).map((name) => ({ name })));
        return { status: 200, body: pull.labels };
      }
      pull.assignees.push(...(request.body.assignees as string[]).map((login) => ({ login })));
      return { status: 201, body: view(pull) };
    }
    // Clients send the ref with its slashes encoded (heads%2Fpackuilon%2Fkey); GitHub decodes them.
    const ref = /^\/git\/refs\/heads\/(.+)$/.exec(decodeURIComponent(sub));
    if (ref && request.method === 'DELETE') {
      const name = ref[1]!;
      if (options.bareRepo) {
        if (!branchSha(options.bareRepo, name)) return { status: 422, body: { message: 'Reference does not exist', documentation_url: DOCS, status: '422' } };
        execFileSync('git', ['update-ref', '-d', `refs/heads/${name}`], { cwd: options.bareRepo });
      }
      deletedRefs.push(name);
      return { status: 204 };
    }
    const status = /^\/commits\/([^/]+)\/status$/.exec(sub);
    if (status && request.method === 'GET') {
      const state = statuses.get(status[1]!);
      return { status: 200, body: { state: state ?? 'pending', total_count: state ? 1 : 0, statuses: state ? [{ state, context: 'ci' }] : [], sha: status[1] } };
    }
    return notFound;
  };

  const graphql = (request: FakeRequest): Reply => {
    const query = typeof request.body.query === 'string' ? request.body.query : '';
    const id = (request.body.variables as { id?: string } | undefined)?.id;
    if (!query.includes('enablePullRequestAutoMerge')) return { status: 200, body: { errors: [{ message: 'unsupported by this fake' }] } };
    const pull = pulls.find((candidate) => candidate.node_id === id);
    if (!pull) return { status: 200, body: { data: null, errors: [{ type: 'NOT_FOUND', message: `Could not resolve to a node with the global id of '${String(id)}'` }] } };
    pull.auto_merge = { merge_method: 'MERGE' };
    return { status: 200, body: { data: { enablePullRequestAutoMerge: { clientMutationId: null } } } };
  };

  const server = await startFakeServer(handle);
  return Object.assign(server, { apiUrl: `${server.url}${prefix}`, pulls, deletedRefs, statuses });
}

function view({ comments: _comments, ...pull }: FakePull) {
  return pull;
}

function validation(errors: unknown[]): Reply {
  return { status: 422, body: { message: 'Validation Failed', errors, documentation_url: DOCS, status: '422' } };
}

function branchSha(bareRepo: string, branch: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: bareRepo, encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
