// Plumbing shared by the fake forge servers: a loopback HTTP server that
// records every call, can be told to fail the next matching calls, and
// paginates lists the way both forges do (page / per_page, Link header).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Injected {
  method: string;
  path: RegExp;
  reply: Reply;
  times: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  url: URL;
}

export type Handler = (request: FakeRequest) => Reply | Promise<Reply>;

export interface FakeServer {
  url: string;
  calls: RecordedCall[];
  /** The next `times` calls matching method + path answer `reply` instead. */
  failNext(method: string, path: RegExp, reply: Reply, times?: number): void;
  close(): Promise<void>;
}

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const calls: RecordedCall[] = [];
  const injected: Injected[] = [];
  const server: Server = createServer((req, res) => {
    void serve(req, res);
  });
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    if (raw) {
      const type = req.headers['content-type'] ?? '';
      try {
        body = type.includes('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(raw)) : (JSON.parse(raw) as Record<string, unknown>);
      } catch {
        return send(res, { status: 400, body: { message: 'Problems parsing JSON' } });
      }
    }
    const method = req.method ?? 'GET';
    calls.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body });
    const hit = injected.find((rule) => rule.times > 0 && rule.method === method && rule.path.test(url.pathname));
    if (hit) {
      hit.times--;
      return send(res, hit.reply);
    }
    try {
      send(res, await handler({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body, url }));
    } catch (error) {
      send(res, { status: 500, body: { message: `500 Internal Server Error: ${(error as Error).message}` } });
    }
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    failNext(method, path, reply, times = 1) {
      injected.push({ method, path, reply, times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, reply: Reply) {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  if (reply.body !== undefined) headers['content-type'] ??= 'application/json';
  res.writeHead(reply.status, headers);
  res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
}

/** One page of a list, with the headers GitLab sends (x-page, x-next-page, …) and the Link header both send. */
export function paginate<T>(request: FakeRequest, items: T[], defaultPerPage: number): Reply {
  const perPage = Math.min(100, Math.max(1, Number(request.query.get('per_page') ?? defaultPerPage) || defaultPerPage));
  const page = Math.max(1, Number(request.query.get('page') ?? 1) || 1);
  const totalPages = Math.max(1, Math.ceil(items.length / perPage));
  const link = (target: number) => {
    const url = new URL(request.url.href);
    url.host = request.headers.host ?? url.host;
    url.searchParams.set('page', String(target));
    url.searchParams.set('per_page', String(perPage));
    return url.href;
  };
  const links = [];
  if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
  links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
  return {
    status: 200,
    body: items.slice((page - 1) * perPage, page * perPage),
    headers: {
      link: links.join(', '),
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
    },
  };
}
