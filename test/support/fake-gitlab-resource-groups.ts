import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake GitLab saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  token: string | undefined;
  body: string;
}

export interface FakeGitlab {
  /** `http://127.0.0.1:PORT/api/v4`, as CI_API_V4_URL. */
  apiUrl: string;
  requests: SeenRequest[];
  /** Resource groups that exist (a group exists once a pipeline used it), by project ID. */
  groups: Map<string, Map<string, { id: number; process_mode: string }>>;
  /** Answer every request with this status instead (500, …). */
  failWith?: number;
  close(): Promise<void>;
}

/**
 * GitLab's resource group API on loopback, with its real paths, status codes
 * and error bodies: 401 without a valid PRIVATE-TOKEN, 404 for an unknown
 * project or group, 400 for a bad process_mode.
 */
export async function startFakeGitlab(options: { token: string; projects: Record<string, string[]> }): Promise<FakeGitlab> {
  const groups = new Map<string, Map<string, { id: number; process_mode: string }>>();
  let id = 1;
  for (const [project, keys] of Object.entries(options.projects)) {
    groups.set(project, new Map(keys.map((key) => [key, { id: id++, process_mode: 'unordered' }])));
  }
  const requests: SeenRequest[] = [];
  const state: { failWith?: number } = {};
  const server: Server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const token = request.headers['private-token'];
      requests.push({ method: request.method ?? '', path: url.pathname, token: typeof token === 'string' ? token : undefined, body });
      const send = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      if (state.failWith) return send(state.failWith, { message: `${state.failWith} Internal Server Error` });
      if (token !== options.token) return send(401, { message: '401 Unauthorized' });
      // Raw path: GitLab takes a URL-encoded project path (group%2Fproject) or a numeric ID.
      const match = /^\/api\/v4\/projects\/([^/]+)\/resource_groups\/([^/]+)$/.exec(url.pathname);
      if (!match) return send(404, { error: '404 Not Found' });
      const project = groups.get(decodeURIComponent(match[1]!));
      if (!project) return send(404, { message: '404 Project Not Found' });
      const group = project.get(decodeURIComponent(match[2]!));
      if (!group) return send(404, { message: '404 Not found' });
      if (request.method === 'GET') return send(200, { id: group.id, key: decodeURIComponent(match[2]!), process_mode: group.process_mode });
      if (request.method !== 'PUT') return send(405, { message: '405 Method Not Allowed' });
      const mode = new URLSearchParams(body).get('process_mode');
      if (!mode || !['unordered', 'oldest_first', 'newest_first', 'newest_ready_first'].includes(mode)) {
        return send(400, { message: { process_mode: ['is not included in the list'] } });
      }
      group.process_mode = mode;
      return send(200, { id: group.id, key: decodeURIComponent(match[2]!), process_mode: mode, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const fake: FakeGitlab = {
    apiUrl: `http://127.0.0.1:${port}/api/v4`,
    requests,
    groups,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  return fake;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
