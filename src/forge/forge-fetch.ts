import type { Logger } from '../shared/log.js';

export interface ForgeFetchOptions {
  fetch?: typeof fetch;
  log?: Logger;
  /** Retries after a 429, a 5xx or a network error [5]. */
  retries?: number;
  /** First backoff when the forge gives no Retry-After [500 ms]; doubles each retry. */
  backoffMs?: number;
  /** A Retry-After longer than this is not waited for: the run fails and the next one reconciles [60 s]. */
  maxWaitMs?: number;
  /** Per request [30 s]. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const RETRIED = new Set([429, 500, 502, 503, 504]);

/**
 * A fetch that retries what a forge means as "later": 429 and 5xx (honouring
 * Retry-After, seconds or a date), GitHub's secondary rate limit (403 with
 * Retry-After or x-ratelimit-remaining: 0) and network errors. Both forge
 * clients take it in place of the global fetch, so they retry alike.
 */
export function createForgeFetch(options: ForgeFetchOptions = {}): typeof fetch {
  const base = options.fetch ?? fetch;
  const retries = options.retries ?? 5;
  const backoffMs = options.backoffMs ?? 500;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  return async (input, init) => {
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const url = input instanceof Request ? input.url : String(input);
    for (let attempt = 0; ; attempt++) {
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await base(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        failure = error;
      }
      const wait = response ? waitBeforeRetry(response, attempt, backoffMs) : backoffMs * 2 ** attempt;
      if (response && wait === undefined) return response;
      if (attempt >= retries || (wait ?? 0) > maxWaitMs) {
        if (response) return response;
        throw failure;
      }
      options.log?.warn(
        { method, url: pathOf(url), status: response?.status, error: failure instanceof Error ? failure.message : undefined, waitMs: wait, attempt: attempt + 1 },
        'forge request retried',
      );
      await response?.body?.cancel();
      await sleep(wait ?? 0);
    }
  };
}

/** Milliseconds to wait before retrying this response, or undefined when it is final. */
function waitBeforeRetry(response: Response, attempt: number, backoffMs: number): number | undefined {
  const rateLimited = response.status === 403 && (response.headers.has('retry-after') || response.headers.get('x-ratelimit-remaining') === '0');
  if (!RETRIED.has(response.status) && !rateLimited) return undefined;
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  const reset = Number(response.headers.get('x-ratelimit-reset'));
  if (rateLimited && Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - Date.now());
  return backoffMs * 2 ** attempt;
}

/** The URL without its query: tokens never travel in our URLs, but keep logs short. */
function pathOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}
