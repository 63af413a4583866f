// A Keystone v3 session over fetch: one token, re-issued before it expires and
// once after a 401; the catalog gives each service's endpoint. Tokens and
// secrets never reach a log line or an error message.
import type * as z from 'zod/mini';
import { ConfigError, TransientError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { formatIssues } from '../shared/zod.js';
import type { Credentials } from './credentials.js';
import { ErrorBody, TokenBody, type CatalogEntry } from './schema.js';

/** Keystone refused the credentials, or a service refused a fresh token: exit 2, fix the identity. */
export class AuthError extends ConfigError {
  override name = 'AuthError';
}

/** A 403: the identity lacks a permission. `step` says what was being done. */
export class PermissionError extends ConfigError {
  override name = 'PermissionError';
  constructor(readonly step: string, readonly detail: string, readonly who: string) {
    super(`${step}: permission denied for ${who}: ${detail}`);
  }
}

/** Any other non-2xx answer; 5xx/429 and network errors are TransientError (retried by the caller or the job). */
export class OpenstackError extends TransientError {
  override name = 'OpenstackError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface SessionOptions {
  credentials: Credentials;
  log: Logger;
  fetch?: typeof fetch;
  /** Clock in ms (tests move it). */
  now?: () => number;
  timeoutMs?: number;
  /** A token closer than this to its expiry is re-issued first [60 s]. */
  refreshMarginMs?: number;
}

export interface RequestOptions {
  /** What this request does, for errors: `rename image 1234`. */
  step: string;
  body?: BodyInit | undefined;
  headers?: Record<string, string>;
  /** Status codes that are not errors besides 2xx (e.g. 404 for find*). */
  allow?: number[];
}

export interface Session {
  readonly credentials: Credentials;
  /** The token's user, project (id) and role names, after the first authentication. */
  identity(): Promise<{ userId: string; userName: string; projectId?: string | undefined; roles: string[] }>;
  /** A service's endpoint from the catalog, by type, the configured interface and region. */
  endpoint(type: string): Promise<string>;
  /** A request with the token; a 401 re-authenticates once and repeats (not for streamed bodies). */
  request(method: string, url: string, options: RequestOptions): Promise<Response>;
  /** Forget the token (tests; a revoked token is found by the 401 anyway). */
  invalidate(): void;
  /** The current token, for tests only: never log it. */
  token(): Promise<string>;
}

interface Issued {
  token: string;
  expiresAt: number;
  body: TokenBody['token'];
}

export function createSession(options: SessionOptions): Session {
  const { credentials } = options;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const margin = options.refreshMarginMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const who = `${credentials.source}, ${credentials.who}`;
  const log = options.log.child({ cloud: credentials.source });
  let issued: Issued | undefined;
  let pending: Promise<Issued> | undefined;

  const authenticate = async (): Promise<Issued> => {
    const m = credentials.method;
    const identity = m.type === 'password'
      ? { methods: ['password'], password: { user: { ...m.user, password: m.password } } }
      : { methods: ['application_credential'], application_credential: { ...(m.id ? { id: m.id } : { name: m.name, user: m.user }), secret: m.secret } };
    const body = JSON.stringify({ auth: { identity, ...(credentials.scope ? { scope: credentials.scope } : {}) } });
    let response: Response;
    const started = Date.now();
    try {
      response = await doFetch(`${credentials.authUrl}/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new TransientError(`Keystone ${credentials.authUrl}: ${(error as Error).message} (${who})`);
    }
    if (response.status === 401) {
      throw new AuthError(`Keystone ${credentials.authUrl} refused the credentials of ${who} (HTTP 401): check the user, password or application credential and the scope`);
    }
    if (response.status !== 201 && response.status !== 200) {
      const detail = await errorDetail(response);
      if (response.status >= 500 || response.status === 429) throw new OpenstackError(response.status, `Keystone ${credentials.authUrl}: HTTP ${response.status}: ${detail}`);
      throw new AuthError(`Keystone ${credentials.authUrl} refused to issue a token for ${who} (HTTP ${response.status}): ${detail}`);
    }
    const token = response.headers.get('x-subject-token');
    if (!token) throw new OpenstackError(response.status, `Keystone ${credentials.authUrl}: no X-Subject-Token in its answer`);
    const parsed = TokenBody.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new OpenstackError(response.status, formatIssues(`Keystone ${credentials.authUrl} token`, parsed.error));
    const expiresAt = Date.parse(parsed.data.token.expires_at);
    log.debug({ user: parsed.data.token.user.name, project: parsed.data.token.project?.name, expiresAt: parsed.data.token.expires_at, ms: Date.now() - started }, 'keystone token issued');
    return { token, expiresAt: Number.isNaN(expiresAt) ? now() + 3_600_000 : expiresAt, body: parsed.data.token };
  };

  const current = async (): Promise<Issued> => {
    if (issued && issued.expiresAt - margin > now()) return issued;
    if (issued) log.info({ expiresAt: new Date(issued.expiresAt).toISOString() }, 'keystone token about to expire: re-authenticating');
    pending ??= authenticate().finally(() => (pending = undefined));
    issued = await pending;
    return issued;
  };

  const endpointOf = (catalog: CatalogEntry[], type: string): string => {
    const entry = catalog.find((e) => e.type === type);
    if (!entry) throw new ConfigError(`${who}: the Keystone catalog has no ${type} service (the token's catalog lists ${catalog.map((e) => e.type).join(', ') || 'nothing'})`);
    const matches = entry.endpoints.filter((e) => e.interface === credentials.interface && (!credentials.region || (e.region_id ?? e.region) === credentials.region));
    if (!matches[0]) {
      throw new ConfigError(`${who}: no ${credentials.interface} ${type} endpoint${credentials.region ? ` in region ${credentials.region}` : ''} in the catalog (it has ${entry.endpoints.map((e) => `${e.interface}@${e.region_id ?? e.region ?? '?'}`).join(', ')})`);
    }
    return matches[0].url.replace(/\/+$/, '');
  };

  const session: Session = {
    credentials,
    async identity() {
      const { body } = await current();
      return { userId: body.user.id, userName: body.user.name, projectId: body.project?.id, roles: body.roles.map((r) => r.name ?? r.id) };
    },
    async endpoint(type) {
      return endpointOf((await current()).body.catalog, type);
    },
    async token() {
      return (await current()).token;
    },
    invalidate() {
      issued = undefined;
    },
    async request(method, url, request) {
      const streamed = request.body instanceof ReadableStream;
      for (let attempt = 0; ; attempt++) {
        const { token } = await current();
        let response: Response;
        const started = Date.now();
        try {
          response = await doFetch(url, {
            method,
            headers: { accept: 'application/json', ...request.headers, 'x-auth-token': token },
            ...(request.body !== undefined ? { body: request.body } : {}),
            ...(streamed ? { duplex: 'half' } : {}),
            signal: AbortSignal.timeout(streamed ? timeoutMs * 30 : timeoutMs),
          });
        } catch (error) {
          throw new TransientError(`${request.step}: ${method} ${url}: ${(error as Error).message}`);
        }
        log.debug({ step: request.step, method, path: new URL(url).pathname, status: response.status, ms: Date.now() - started }, 'openstack call');
        if (response.status === 401 && attempt === 0 && !streamed) {
          await response.body?.cancel();
          log.info({ step: request.step }, 'token refused (expired or revoked): re-authenticating once');
          issued = undefined;
          continue;
        }
        if (response.ok || request.allow?.includes(response.status)) return response;
        const detail = await errorDetail(response);
        if (response.status === 401) throw new AuthError(`${request.step}: ${method} ${url} refused a fresh token of ${who} (HTTP 401): ${detail}`);
        if (response.status === 403) throw new PermissionError(request.step, `${method} ${new URL(url).pathname}: HTTP 403: ${detail}`, who);
        throw new OpenstackError(response.status, `${request.step}: ${method} ${new URL(url).pathname}: HTTP ${response.status}: ${detail}`);
      }
    },
  };
  return session;
}

async function errorDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Glance answers some errors in HTML/plain text
  }
  const body = ErrorBody.safeParse(parsed);
  const message = body.success ? body.data.error?.message ?? body.data.message ?? body.data.title : undefined;
  const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return (message ?? (plain || response.statusText)).slice(0, 300);
}

/** Parse a JSON answer with a schema, naming the step on a mismatch. */
export async function parseJson<T extends z.ZodMiniType>(response: Response, schema: T, step: string): Promise<z.infer<T>> {
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new OpenstackError(response.status, formatIssues(`${step}: unexpected answer`, parsed.error));
  return parsed.data;
}
