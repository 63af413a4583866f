import { TransientError, redact } from '../shared/errors.js';

export type ForgeKind = 'gitlab' | 'github';

/**
 * A forge refused or failed a call. Exit 1: the change is safe (its branch
 * was pushed first) and the next run reconciles. The message is one line:
 * the project, the step, the URL, what the forge said and the permission a
 * 401/403/404 points to. Never the token.
 */
export class ForgeError extends TransientError {
  override name = 'ForgeError';
  constructor(
    readonly kind: ForgeKind,
    readonly project: string,
    readonly step: string,
    readonly status: number | undefined,
    readonly url: string,
    said: string,
    tokenEnv: string,
  ) {
    const status_ = status === undefined ? 'no answer' : `HTTP ${status}`;
    const hint = permissionHint(kind, status, project, tokenEnv);
    super(oneLine(`${kind} ${project}: ${step}: ${status_}${said ? ` (${said})` : ''} at ${redact(url)}${hint ? `: ${hint}` : ''}`));
  }
}

function permissionHint(kind: ForgeKind, status: number | undefined, project: string, tokenEnv: string): string {
  if (status === 401) return `the token in $${tokenEnv} was refused (wrong, expired or revoked)`;
  if (status === 403) {
    return kind === 'gitlab'
      ? `the token in $${tokenEnv} needs the api scope and at least the Developer role on ${project}`
      : `the token in $${tokenEnv} needs contents: write and pull-requests: write on ${project}`;
  }
  if (status === 404) {
    return kind === 'gitlab'
      ? `no project ${project} at this URL, or the token in $${tokenEnv} cannot see it (check forge.url and forge.project)`
      : `no repository ${project} at this URL, or the token in $${tokenEnv} has no access to it (check forge.url and forge.project)`;
  }
  return '';
}

/** What the forge said, from its error body: GitLab `{message}` / `{error}`, GitHub `{message, errors}`. */
export function saidInBody(body: unknown): string {
  if (typeof body === 'string') return cut(body);
  if (!body || typeof body !== 'object') return '';
  const record = body as Record<string, unknown>;
  const message = record.message ?? record.error;
  let said = typeof message === 'string' ? message : message === undefined ? '' : JSON.stringify(message);
  if (Array.isArray(record.errors) && record.errors.length) said += `: ${JSON.stringify(record.errors)}`;
  return cut(said);
}

function cut(text: string): string {
  const flat = oneLine(text);
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
