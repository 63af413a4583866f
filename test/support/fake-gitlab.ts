// A fake GitLab v4 API on loopback, for merge-request mode: the real paths
// (under an optional path prefix, as self-hosted instances have), payloads,
// pagination headers, status codes and error bodies of the endpoints
// Packuilon calls (merge requests, notes, users, branches, and the resource
// groups `ci plan` sets the process mode of). Branches can be backed by a real bare repo, so a branch
// deleted through the API is gone from git too.
import { execFileSync } from 'node:child_process';
import { paginate, startFakeServer, type FakeRequest, type FakeServer, type Reply } from './fake-http.js';

export interface FakeMergeRequest {
  id: number;
  iid: number;
  project_id: number;
  title: string;
  description: string;
  state: 'opened' | 'closed' | 'merged';
  source_branch: string;
  target_branch: string;
  labels: string[];
  assignee_ids: number[];
  reviewer_ids: number[];
  web_url: string;
  created_at: string;
  updated_at: string;
  sha: string | null;
  merge_when_pipeline_succeeds: boolean;
  head_pipeline: { id: number; status: string } | null;
  notes: string[];
}

export interface FakeGitlab extends FakeServer {
  /** The instance URL to configure as forge.url (prefix included). */
  instanceUrl: string;
  mergeRequests: FakeMergeRequest[];
  deletedBranches: string[];
  users: { id: number; username: string }[];
  /** Resource groups that exist (GitLab makes one when a pipeline first uses it), by key. */
  resourceGroups: Map<string, { id: number; process_mode: string }>;
}

export interface FakeGitlabOptions {
  token: string;
  project: string;
  projectId?: number;
  /** e.g. `/gitlab` for https://host/gitlab/api/v4. */
  prefix?: string;
  /** A bare repo whose branches the API's branch endpoints act on. */
  bareRepo?: string;
  perPageDefault?: number;
  /** Keys of the resource groups the project has. */
  resourceGroups?: string[];
}

const PROCESS_MODES = ['unordered', 'oldest_first', 'newest_first', 'newest_ready_first'];

const notFound = (what: string): Reply => ({ status: 404, body: { message: `404 ${what} Not Found` } });

export async function startFakeGitlab(options: FakeGitlabOptions): Promise<FakeGitlab> {
  const prefix = `${options.prefix ?? ''}/api/v4`;
  const projectId = options.projectId ?? 42;
  const mergeRequests: FakeMergeRequest[] = [];
  const deletedBranches: string[] = [];
  const users = [
    { id: 7, username: 'alice' },
    { id: 8, username: 'bob' },
  ];
  let nextId = 1000;
  const resourceGroups = new Map((options.resourceGroups ?? []).map((key) => [key, { id: nextId++, process_mode: 'unordered' }]));
  const now = () => new Date().toISOString();

  const handle = (request: FakeRequest): Reply => {
    if (!request.path.startsWith(`${prefix}/`)) return { status: 404, body: { error: '404 Not Found' } };
    if (request.headers['private-token'] !== options.token) return { status: 401, body: { message: '401 Unauthorized' } };
    const rest = request.path.slice(prefix.length);
    if (rest === '/users' && request.method === 'GET') {
      const username = request.query.get('username');
      return paginate(request, users.filter((user) => !username || user.username === username), 20);
    }
    // GitLab takes the project as a numeric ID or its URL-encoded path; the raw path arrives encoded.
    const match = /^\/projects\/([^/]+)(\/.*)?$/.exec(rest);
    if (!match) return { status: 404, body: { error: '404 Not Found' } };
    const ref = decodeURIComponent(match[1]!);
    if (ref !== options.project && ref !== String(projectId)) return notFound('Project');
    const sub = match[2] ?? '';

    if (sub === '/merge_requests' && request.method === 'GET') {
      const state = request.query.get('state');
      const source = request.query.get('source_branch');
      const listed = mergeRequests
        .filter((mr) => (!state || state === 'all' || mr.state === state) && (!source || mr.source_branch === source))
        .sort((a, b) => b.iid - a.iid)
        .map(({ notes: _notes, head_pipeline: _pipeline, ...mr }) => mr);
      return paginate(request, listed, options.perPageDefault ?? 20);
    }
    if (sub === '/merge_requests' && request.method === 'POST') {
      const body = request.body;
      for (const field of ['source_branch', 'target_branch', 'title']) {
        if (typeof body[field] !== 'string' || !body[field]) return { status: 400, body: { error: `${field} is missing` } };
      }
      const source = String(body.source_branch);
      const open = mergeRequests.find((mr) => mr.state === 'opened' && mr.source_branch === source);
      if (open) return { status: 409, body: { message: [`Another open merge request already exists for this source branch: !${open.iid}`] } };
      if (options.bareRepo && !branchSha(options.bareRepo, source)) return { status: 422, body: { message: [`Source branch "${source}" does not exist`] } };
      const iid = Math.max(0, ...mergeRequests.map((mr) => mr.iid)) + 1;
      const mr: FakeMergeRequest = {
        id: nextId++,
        iid,
        project_id: projectId,
        title: String(body.title),
        description: typeof body.description === 'string' ? body.description : '',
        state: 'opened',
        source_branch: source,
        target_branch: String(body.target_branch),
        labels: typeof body.labels === 'string' ? body.labels.split(',').filter(Boolean) : Array.isArray(body.labels) ? (body.labels as string[]) : [],
        assignee_ids: Array.isArray(body.assignee_ids) ? (body.assignee_ids as number[]) : [],
        reviewer_ids: Array.isArray(body.reviewer_ids) ? (body.reviewer_ids as number[]) : [],
        web_url: `${request.url.protocol}//${request.headers.host}${options.prefix ?? ''}/${options.project}/-/merge_requests/${iid}`,
        created_at: now(),
        updated_at: now(),
        sha: options.bareRepo ? branchSha(options.bareRepo, source) : null,
        merge_when_pipeline_succeeds: false,
        head_pipeline: null,
        notes: [],
      };
      mergeRequests.push(mr);
      return { status: 201, body: view(mr) };
    }
    const one = /^\/merge_requests\/(\d+)(\/.*)?$/.exec(sub);
    if (one) {
      const mr = mergeRequests.find((candidate) => candidate.iid === Number(one[1]));
      if (!mr) return notFound('');
      const action = one[2] ?? '';
      if (action === '' && request.method === 'GET') return { status: 200, body: view(mr) };
      if (action === '' && request.method === 'PUT') {
        const body = request.body;
        if (typeof body.title === 'string') mr.title = body.title;
        if (typeof body.description === 'string') mr.description = body.description;
        if (body.state_event === 'close') mr.state = 'closed';
        if (body.state_event === 'reopen') mr.state = 'opened';
        mr.updated_at = now();
        return { status: 200, body: view(mr) };
      }
      if (action === '/notes' && request.method === 'POST') {
        if (typeof request.body.body !== 'string' || !request.body.body) return { status: 400, body: { error: 'body is missing' } };
        mr.notes.push(request.body.body);
        return { status: 201, body: { id: nextId++, body: request.body.body, noteable_iid: mr.iid, system: false } };
      }
      if (action === '/merge' && request.method === 'PUT') {
        if (mr.state !== 'opened') return { status: 405, body: { message: '405 Method Not Allowed' } };
        if (request.body.merge_when_pipeline_succeeds === true || request.body.auto_merge === true) mr.merge_when_pipeline_succeeds = true;
        return { status: 200, body: view(mr) };
      }
      return notFound('');
    }
    const group = /^\/resource_groups\/([^/]+)$/.exec(sub);
    if (group) {
      const key = decodeURIComponent(group[1]!);
      const found = resourceGroups.get(key);
      if (!found) return { status: 404, body: { message: '404 Not found' } };
      if (request.method === 'GET') return { status: 200, body: { id: found.id, key, process_mode: found.process_mode } };
      if (request.method !== 'PUT') return { status: 405, body: { message: '405 Method Not Allowed' } };
      const mode = request.body.process_mode;
      if (typeof mode !== 'string' || !PROCESS_MODES.includes(mode)) return { status: 400, body: { message: { process_mode: ['is not included in the list'] } } };
      found.process_mode = mode;
      return { status: 200, body: { id: found.id, key, process_mode: mode, created_at: '2026-01-01T00:00:00.000Z', updated_at: now() } };
    }
    const branch = /^\/repository\/branches\/(.+)$/.exec(sub);
    if (branch && request.method === 'DELETE') {
      const name = decodeURIComponent(branch[1]!);
      if (options.bareRepo) {
        if (!branchSha(options.bareRepo, name)) return notFound('Branch');
        execFileSync('git', ['update-ref', '-d', `refs/heads/${name}`], { cwd: options.bareRepo });
      }
      deletedBranches.push(name);
      return { status: 204 };
    }
    return { status: 404, body: { error: '404 Not Found' } };
  };

  const server = await startFakeServer(handle);
  return Object.assign(server, { instanceUrl: `${server.url}${options.prefix ?? ''}`, mergeRequests, deletedBranches, users, resourceGroups });
}

function view({ notes: _notes, ...mr }: FakeMergeRequest) {
  return mr;
}

function branchSha(bareRepo: string, branch: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: bareRepo, encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
