/**
 * A stand-in for Aquilon's profile web server: serves a directory of profiles
 * (profiles-info.xml, <host>.json, <host>.json.gz, clusters/<name>.json) under
 * /profiles/ on 127.0.0.1, with hooks to make requests fail or go slow.
 *
 *   const aq = await startAquilonServer({ dir: 'examples/site/profiles' });
 *   // config: aquilon.index_url = aq.indexUrl, aquilon.profile_url = aq.profileUrl
 *   aq.failNext('profiles-info.xml', 2, 503);
 *   aq.requests.get('nubesvms-sl7x-x86-64.cloud.template.json'); // -> count
 *   await aq.close();
 *
 * Paths given to `requests`, `failNext` and `delay` are relative to the profile
 * directory ('profiles-info.xml', 'clusters/x.json'); '/profiles/x.json' is accepted
 * too. Requests outside /profiles/ are counted under their full path ('/x').
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

export interface AquilonServerOptions {
  /** Directory served as /profiles/. */
  dir: string;
  /** Answer `Accept-Encoding: gzip` with a gzip Content-Encoding (not for .gz files). */
  gzip?: boolean;
}

export interface AquilonServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + /profiles/profiles-info.xml */
  indexUrl: string;
  /** url + /profiles/ (with the trailing slash): the profile directory URL */
  profileUrl: string;
  /** Requests seen per path (every request counts, failed and delayed ones too). */
  requests: Map<string, number>;
  /** The next `times` requests to `path` get `status` (default 500). */
  failNext(path: string, times: number, status?: number): void;
  /** Every later request to `path` waits `ms` first (0 removes the delay). */
  delay(path: string, ms: number): void;
  close(): Promise<void>;
}

const PREFIX = '/profiles/';

const TYPES: Array<[string, string]> = [
  ['.json.gz', 'application/gzip'],
  ['.xml.gz', 'application/gzip'],
  ['.json', 'application/json'],
  ['.xml', 'application/xml'],
];

function contentType(name: string): string {
  return TYPES.find(([ext]) => name.endsWith(ext))?.[1] ?? 'application/octet-stream';
}

/** 'x.json' and '/profiles/x.json' -> 'x.json'; '/other' stays '/other'. */
function keyOf(path: string): string {
  return path.startsWith(PREFIX) ? path.slice(PREFIX.length) : path;
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  const value = Array.isArray(header) ? header.join(',') : header ?? '';
  return value.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().split(';').map((s) => s.trim());
    const q = params.find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startAquilonServer(opts: AquilonServerOptions): Promise<AquilonServer> {
  const root = resolve(opts.dir);
  const requests = new Map<string, number>();
  const failures = new Map<string, { times: number; status: number }>();
  const delays = new Map<string, number>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return send(res, 400, 'bad request\n');
    }
    const key = keyOf(path);
    requests.set(key, (requests.get(key) ?? 0) + 1);

    const wait = delays.get(key);
    if (wait) await new Promise((r) => setTimeout(r, wait));
    const failure = failures.get(key);
    if (failure && failure.times > 0) {
      failure.times -= 1;
      return send(res, failure.status, `injected failure ${failure.status}\n`);
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed\n');
    }
    if (path.split('/').includes('..') || path.includes('\0') || path.includes('\\')) return send(res, 400, 'bad path\n');
    if (!path.startsWith(PREFIX) || path === PREFIX) return send(res, 404, 'not found\n');
    const file = resolve(root, key);
    if (!file.startsWith(root + sep)) return send(res, 400, 'bad path\n');

    let info;
    try {
      info = await stat(file);
    } catch {
      return send(res, 404, 'not found\n');
    }
    if (!info.isFile()) return send(res, 404, 'not found\n');

    const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000);
    const since = Date.parse(String(req.headers['if-modified-since'] ?? ''));
    const headers: Record<string, string | number> = { 'Content-Type': contentType(key), 'Last-Modified': lastModified.toUTCString() };
    if (!Number.isNaN(since) && lastModified.getTime() <= since) {
      res.writeHead(304, headers);
      return void res.end();
    }

    let body = await readFile(file);
    if (opts.gzip && !key.endsWith('.gz')) {
      headers.Vary = 'Accept-Encoding';
      if (acceptsGzip(req)) {
        body = gzipSync(body);
        headers['Content-Encoding'] = 'gzip';
      }
    }
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, `server error: ${String(err)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    indexUrl: `${url}${PREFIX}profiles-info.xml`,
    profileUrl: `${url}${PREFIX}`,
    requests,
    failNext(path, times, status = 500) {
      failures.set(keyOf(path), { times, status });
    },
    delay(path, ms) {
      if (ms > 0) delays.set(keyOf(path), ms);
      else delays.delete(keyOf(path));
    },
    close() {
      return new Promise<void>((ok, fail) => {
        server.close((err) => (err ? fail(err) : ok()));
        server.closeAllConnections();
      });
    },
  };
}
