import type { Logger } from '../shared/log.js';
import { redact } from '../shared/errors.js';
import { GitlabError, ResourceGroupAnswer } from './schema.js';

export interface ResourceGroupOptions {
  /** GitLab's API root, e.g. `https://gitlab.example.org/api/v4` (CI_API_V4_URL). */
  apiUrl: string;
  /** Numeric ID or `group/project` path (CI_PROJECT_ID or forge.project). */
  project: string;
  token: string;
  log: Logger;
  fetch?: typeof fetch;
  timeoutMs?: number;
  concurrency?: number;
}

export interface ResourceGroupResult {
  set: string[];
  warnings: string[];
}

/**
 * GitLab sets a resource group's process mode only through its API:
 * `PUT /projects/:id/resource_groups/:key` with `process_mode=newest_ready_first`,
 * so the newest change of an image wins and none starves. A group exists once
 * a pipeline used it: the first plan of a new image gets a 404, a warning.
 * Every failure is a warning; none fails the plan.
 */
export async function ensureNewestReadyFirst(groups: string[], options: ResourceGroupOptions): Promise<ResourceGroupResult> {
  const doFetch = options.fetch ?? fetch;
  const base = options.apiUrl.replace(/\/+$/, '');
  const result: ResourceGroupResult = { set: [], warnings: [] };
  const queue = [...groups];
  const one = async (group: string) => {
    const url = `${base}/projects/${encodeURIComponent(options.project)}/resource_groups/${encodeURIComponent(group)}`;
    try {
      const response = await doFetch(url, {
        method: 'PUT',
        headers: { 'PRIVATE-TOKEN': options.token, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ process_mode: 'newest_ready_first' }).toString(),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      const body = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}${errorText(body)}`);
      const answer = ResourceGroupAnswer.safeParse(safeJson(body));
      if (!answer.success) throw new Error('answer is not a resource group');
      if (answer.data.process_mode !== 'newest_ready_first') throw new Error(`process_mode is still ${answer.data.process_mode}`);
      result.set.push(group);
    } catch (error) {
      const warning = `resource group ${group}: process mode not set: PUT ${redact(url)}: ${(error as Error).message}`;
      result.warnings.push(warning);
      options.log.warn({ resourceGroup: group, err: (error as Error).message }, 'resource group process mode not set');
    }
  };
  const workers = Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, async () => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) await one(group);
  });
  await Promise.all(workers);
  result.set.sort();
  result.warnings.sort();
  return result;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorText(body: string): string {
  const parsed = GitlabError.safeParse(safeJson(body));
  if (!parsed.success) return '';
  const message = parsed.data.message ?? parsed.data.error;
  if (message === undefined) return '';
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  return `: ${text.replace(/[\u0000-\u001f]+/g, ' ').slice(0, 200)}`;
}
