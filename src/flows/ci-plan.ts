import { isAbsolute, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureNewestReadyFirst, imageKeyOfPath, IMAGE_KEY, ManifestFacts, planImages, planRange, type Parsed, type Plan, type RangeRequest } from '../ci/index.js';
import { Config, type LoadedConfig } from '../config/index.js';
import { createGit, listImageFiles, readTexts, readPathChanges, readRangeCommits, resolveRef, type Git } from '../repo/index.js';
import { parseSourceImages, parseTemplateMap } from '../resolve/index.js';
import { sha256 } from '../shared/digest.js';
import { ConfigError, UsageError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

export interface CiPlanOptions {
  from?: string;
  to?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Set the resource groups' process mode through GitLab's API when a token and project are given [true]. */
  resourceGroups?: boolean;
  fetch?: typeof fetch;
}

export interface CiPlanResult {
  plan: Plan;
  basis: RangeRequest['basis'];
  warnings: string[];
}

/** Read the range from git, plan it (pure), then the one side effect: GitLab's resource group mode. */
export async function runCiPlan(loaded: LoadedConfig, options: CiPlanOptions): Promise<CiPlanResult> {
  const request = planRange({ from: options.from, to: options.to }, options.env);
  const git = createGit(loaded.paths.repo, options.env);
  const to = await commitOf(git, request.to === 'HEAD' ? { sha: 'HEAD', source: 'HEAD' } : request.to);
  let from: string | null = null;
  if (request.from === 'parent') from = await resolveRef(git, `${to}^`);
  else if (request.from) from = await commitOf(git, request.from);

  const repoRelative = (path: string) => {
    const rel = relative(loaded.paths.repo, path);
    return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split('\\').join('/');
  };
  const templateMapPath = repoRelative(loaded.paths.templateMap) ?? loaded.config.templates.map;
  const sourcesPath = repoRelative(loaded.paths.sourceImages) ?? loaded.config.templates.sources;
  const configPath = loaded.source === 'defaults' ? undefined : repoRelative(loaded.source);

  const [changedPaths, files, commits] = await Promise.all([
    readPathChanges(git, from, to),
    listImageFiles(git, to),
    readRangeCommits(git, from, to, ['images/', ...(configPath ? [configPath] : [])]),
  ]);
  const imagesAtTo = new Set<string>();
  for (const path of files.keys()) {
    const key = imageKeyOfPath(path);
    if (key !== undefined) imagesAtTo.add(key);
  }
  for (const key of new Set([...imagesAtTo, ...changedPaths.map((c) => imageKeyOfPath(c.path)).filter((k) => k !== undefined)])) {
    if (!IMAGE_KEY.test(key)) throw new ConfigError(`images/${JSON.stringify(key).slice(1, -1)}/: not an image key (expected letters, digits, '_', '.', '-'); rename or remove the folder`);
  }

  const inputPaths = changedPaths.filter((change) => imageKeyOfPath(change.path) === undefined).map((change) => change.path);
  const changed = new Set(inputPaths);
  const manifests = new Map<string, ManifestFacts>();
  const templateDigests = new Map<string, string>();
  const inputs: Parameters<typeof planImages>[0]['inputs'] = { templateMapPath, sourcesPath, templateDigests, ...(configPath ? { configPath } : {}) };
  if (inputPaths.length > 0) {
    const texts = await readTexts(git, [...imagesAtTo].map((key) => `${to}:images/${key}/image.json`));
    for (const key of imagesAtTo) {
      const parsed = ManifestFacts.safeParse(safeJson(texts.get(`${to}:images/${key}/image.json`)));
      if (parsed.success) manifests.set(key, parsed.data);
    }
    const templates = new Set([...manifests.values()].flatMap((m) => m.templates.map((t) => t.template.replace(/^(\.\/)+/, ''))).filter((p) => changed.has(p)));
    const wanted = [...templates, ...[templateMapPath, sourcesPath, configPath].filter((p): p is string => p !== undefined && changed.has(p))];
    const blobs = await readTexts(git, wanted.map((path) => `${to}:${path}`));
    for (const path of templates) {
      const text = blobs.get(`${to}:${path}`);
      if (text !== undefined) templateDigests.set(path, sha256(text));
    }
    if (changed.has(templateMapPath)) inputs.templateMap = parsedWith(() => parseTemplateMap(templateMapPath, blobs.get(`${to}:${templateMapPath}`) ?? missing(templateMapPath)));
    if (changed.has(sourcesPath)) inputs.sources = parsedWith(() => parseSourceImages(sourcesPath, blobs.get(`${to}:${sourcesPath}`) ?? missing(sourcesPath)));
    if (configPath && changed.has(configPath) && from) {
      const before = await readTexts(git, [`${from}:${configPath}`]);
      inputs.imageName = { from: imageNameIn(before.get(`${from}:${configPath}`)), to: imageNameIn(blobs.get(`${to}:${configPath}`)) };
    }
  }

  const plan = planImages({ from, to, changedPaths, commits, imagesAtTo, manifests, inputs });
  const warnings = options.resourceGroups === false ? [] : await setProcessModes(plan, loaded, options);
  return { plan, basis: request.basis, warnings };
}

async function commitOf(git: Git, ref: { sha: string; source: string }): Promise<string> {
  const sha = await resolveRef(git, ref.sha);
  if (!sha) throw new UsageError(`${ref.source}: no commit ${ref.sha} in ${git.dir}${ref.source.startsWith('CI_') ? ' (a shallow clone? set GIT_DEPTH: 0 on the job)' : ''}`);
  return sha;
}

function parsedWith<T>(parse: () => T): Parsed<T> {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    return { ok: false, error: (error as Error).message.split('\n')[0]! };
  }
}

function missing(path: string): never {
  throw new ConfigError(`${path}: removed`);
}

function safeJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const DEFAULT_IMAGE_NAME = Config.parse({}).image_name;

function imageNameIn(text: string | undefined): string {
  try {
    const value = (parseYaml(text ?? '') as { image_name?: unknown } | null)?.image_name;
    return typeof value === 'string' ? value : DEFAULT_IMAGE_NAME;
  } catch {
    return `(unreadable config)`;
  }
}

async function setProcessModes(plan: Plan, loaded: LoadedConfig, options: CiPlanOptions): Promise<string[]> {
  const forge = loaded.config.forge;
  const token = options.env[forge?.token_env ?? 'GITLAB_TOKEN'];
  const apiUrl = options.env.CI_API_V4_URL || (forge?.url ? `${forge.url.replace(/\/+$/, '')}/api/v4` : undefined);
  const project = options.env.CI_PROJECT_ID || forge?.project;
  const groups = plan.images.filter((image) => image.action === 'build').map((image) => `image-${image.key}`);
  if (!token || !apiUrl || !project || groups.length === 0 || (forge && forge.type !== 'gitlab')) return [];
  const result = await ensureNewestReadyFirst(groups, { apiUrl, project, token, log: options.log, ...(options.fetch ? { fetch: options.fetch } : {}) });
  return result.warnings;
}
