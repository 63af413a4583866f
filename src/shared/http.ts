import { request as httpRequest, Agent as HttpAgent, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { createRequire } from 'node:module';
import { TransientError, redact } from './errors.js';
import { BadBodyError, gunzipLimited } from './gunzip.js';

export interface HttpClient {
  /** GET a URL's body (decoded from Content-Encoding: gzip, capped at maxBytes too). Retries network errors, timeouts and 5xx/429; a body that does not inflate is a BadBodyError, not retried. */
  get(url: string): Promise<Buffer>;
  close(): void;
}

export class HttpStatusError extends TransientError {
  override name = 'HttpStatusError';
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`GET ${redact(url)}: HTTP ${status}`);
  }
}

export interface HttpOptions {
  timeoutMs: number;
  retries: number;
  maxBytes?: number;
  /** Backoff base; tests make it short. */
  backoffMs?: number;
}

/**
 * node:http with keep-alive rather than fetch: it loads in a few ms, and
 * thousands of profile downloads share a handful of sockets.
 */
export function createHttpClient(options: HttpOptions): HttpClient {
  const plain = { request: httpRequest, agent: new HttpAgent({ keepAlive: true, maxSockets: 64 }) };
  // node:https (and TLS under it) is loaded at the first https:// URL: 2 ms of every start otherwise.
  // By require, not import(): the start-up snapshot has no dynamic import (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
  let secure: typeof plain | undefined;
  const transportOf = (parsed: URL): typeof plain => {
    if (parsed.protocol !== 'https:') return plain;
    if (!secure) {
      const https = createRequire(import.meta.url)('node:https') as typeof import('node:https');
      secure = { request: https.request, agent: new https.Agent({ keepAlive: true, maxSockets: 64 }) };
    }
    return secure;
  };
  const once = (url: string): Promise<Buffer> => {
    const parsed = new URL(url);
    const transport = transportOf(parsed);
    return new Promise((resolve, reject) => {
      const request: ClientRequest = transport.request(
        parsed,
        { agent: transport.agent, headers: { 'accept-encoding': 'gzip' }, timeout: options.timeoutMs } satisfies RequestOptions,
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (options.maxBytes && size > options.maxBytes) {
              // The same bytes would come again: not worth a retry.
              request.destroy(new BadBodyError(`response larger than ${options.maxBytes} bytes`, true));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', reject);
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(new HttpStatusError(url, status));
            const body = Buffer.concat(chunks);
            if (response.headers['content-encoding'] === 'gzip') gunzipLimited(body, options.maxBytes ?? Number.MAX_SAFE_INTEGER).then(resolve, reject);
            else resolve(body);
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer in ${options.timeoutMs} ms`)));
      request.on('error', reject);
      request.end();
    });
  };
  return {
    async get(url) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await once(url);
        } catch (error) {
          if (error instanceof BadBodyError) throw error;
          const retriable = !(error instanceof HttpStatusError) || error.status >= 500 || error.status === 429;
          if (!retriable || attempt >= options.retries) {
            if (error instanceof HttpStatusError) throw error;
            throw new TransientError(`GET ${redact(url)}: ${(error as Error).message}`);
          }
          await new Promise((r) => setTimeout(r, (options.backoffMs ?? 200) * 2 ** attempt));
        }
      }
    },
    close() {
      plain.agent.destroy();
      secure?.agent.destroy();
    },
  };
}
