// The forge stage: merge requests (GitLab) and pull requests (GitHub) behind one interface.
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { createForgeFetch, type ForgeFetchOptions } from './forge-fetch.js';
import { createGithubForge } from './github.js';
import { createGitlabForge } from './gitlab.js';
import type { Forge } from './types.js';

export { ForgeError, type ForgeKind } from './errors.js';
export { branchOf, withMarker, keyOfRequest, BRANCH_PREFIX } from './marker.js';
export type { Forge, ForgeRequest, RequestDraft, PipelineState } from './types.js';
export { renderDescription, type RequestFacts } from './description.js';
export { diffProfiles, type FieldChange } from './profile-diff.js';
export { createGitlabForge, createGithubForge, createForgeFetch };

export interface ForgeSettings {
  type: 'gitlab' | 'github';
  url?: string | undefined;
  project: string;
  token_env?: string | undefined;
  labels: string[];
  assignees: string[];
  reviewers: string[];
  auto_merge: boolean;
}

export function defaultTokenEnv(type: ForgeSettings['type']): string {
  return type === 'github' ? 'GITHUB_TOKEN' : 'GITLAB_TOKEN';
}

/** The forge of the config, its token read from the environment (never from a file). */
export function createForge(
  settings: ForgeSettings,
  env: NodeJS.ProcessEnv,
  log: Logger,
  fetchOptions: Omit<ForgeFetchOptions, 'log'> = {},
): Forge {
  const tokenEnv = settings.token_env ?? defaultTokenEnv(settings.type);
  const token = env[tokenEnv];
  if (!token) throw new ConfigError(`forge.token_env: $${tokenEnv} is not set: merge-request mode needs a ${settings.type} token in it`);
  if (settings.type === 'github' && !/^[^/\s]+\/[^/\s]+$/.test(settings.project)) {
    throw new ConfigError(`forge.project: expected owner/name for github, got ${JSON.stringify(settings.project.slice(0, 80))}`);
  }
  const url = settings.url ?? (settings.type === 'github' ? 'https://api.github.com' : env.CI_SERVER_URL);
  if (!url) throw new ConfigError('forge.url: not set (and no CI_SERVER_URL): the GitLab instance URL is needed');
  try {
    new URL(url);
  } catch {
    throw new ConfigError(`forge.url: not a URL: ${JSON.stringify(url.slice(0, 80))}`);
  }
  const options = {
    url,
    project: settings.project,
    token,
    tokenEnv,
    labels: settings.labels,
    assignees: settings.assignees,
    reviewers: settings.reviewers,
    autoMerge: settings.auto_merge,
    fetch: createForgeFetch({ ...fetchOptions, log }),
    log,
  };
  return settings.type === 'github' ? createGithubForge(options) : createGitlabForge(options);
}
