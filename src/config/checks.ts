// What the schema's types cannot say: a queue URL the broker client can use
// and that carries no password from a file, a branch name git accepts, and
// repo files that stay inside the image repo. Each error names the key.
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ConfigError, redact } from '../shared/errors.js';
import type { Config } from './schema.js';

/**
 * `where` is how the error names the value's origin: `packuilon.yaml: queue.url`,
 * or `PACKUILON_QUEUE_URL` when the environment set it. A password is allowed
 * only from the environment (the whole URL in PACKUILON_QUEUE_URL), whatever the trigger.
 */
export function checkQueueUrl(url: string, where: string, fromEnvironment: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${where}: not a URL: ${JSON.stringify(redact(url).slice(0, 80))}; expected amqp://USER@HOST[:PORT]/[VHOST]`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new ConfigError(`${where}: expected amqp:// or amqps://, got ${parsed.protocol}//`);
  }
  if (!parsed.hostname) throw new ConfigError(`${where}: no host in ${JSON.stringify(redact(url).slice(0, 80))}`);
  for (const [part, value] of [['user', parsed.username], ['password', parsed.password], ['vhost', parsed.pathname]] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw new ConfigError(`${where}: the ${part} has a bad %-escape; write reserved characters as %XX`);
    }
  }
  if (parsed.search || parsed.hash) throw new ConfigError(`${where}: no ?query or #fragment is used; remove it`);
  if (parsed.password && !fromEnvironment) {
    throw new ConfigError(`${where}: a password must not be written in the config; set PACKUILON_QUEUE_URL (the whole URL) or queue.password_env`);
  }
}

// git check-ref-format's rules for a branch, the ones an operator can break.
const BAD_REF = /(^[-/.])|([/.]$)|(\.\.)|(@\{)|(\/\/)|(\.lock(\/|$))|(\/\.)|[\x00-\x20\x7f~^:?*[\\]/;

export function checkBranch(branch: string, where: string): void {
  if (branch === '' || BAD_REF.test(branch) || branch === '@' || branch === 'HEAD') {
    throw new ConfigError(`${where}: ${JSON.stringify(branch.slice(0, 80))} is not a valid git branch name`);
  }
}

/** A repo-relative path from the config that must name a file inside the repo. */
export function checkInsideRepo(repo: string, path: string, where: string): string {
  const absolute = resolve(repo, path);
  const inside = relative(repo, absolute);
  if (isAbsolute(path) || inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new ConfigError(`${where}: ${JSON.stringify(path.slice(0, 80))} is outside the image repo ${repo}; give a path relative to repo.path (the file must be committed there)`);
  }
  return absolute;
}

/** Every check of a parsed config; `fileQueueUrl` is queue.url as the file wrote it, before the environment. */
export function checkConfig(config: Config, options: { source: string; repo: string; queueUrlFromEnv: boolean; fileQueueUrl?: unknown }): void {
  const inFile = (key: string) => `${options.source === 'defaults' ? 'configuration' : options.source}: ${key}`;
  // A password in the file is refused even when the environment overrides the URL: the file still holds it.
  if (typeof options.fileQueueUrl === 'string' && options.queueUrlFromEnv) checkQueueUrl(options.fileQueueUrl, inFile('queue.url'), false);
  checkQueueUrl(config.queue.url, options.queueUrlFromEnv ? 'PACKUILON_QUEUE_URL' : inFile('queue.url'), options.queueUrlFromEnv);
  checkBranch(config.repo.branch, inFile('repo.branch'));
  checkInsideRepo(options.repo, config.templates.map, inFile('templates.map'));
  checkInsideRepo(options.repo, config.templates.sources, inFile('templates.sources'));
}
