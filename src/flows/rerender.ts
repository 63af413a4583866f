import { dirname, isAbsolute, relative } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import type { ImageChange, ImageSpec, RenderedFile } from '../model.js';
import { factsOfManifest, MANIFEST_FILE, parseManifest, renderImage, type Manifest } from '../render/index.js';
import { ensureCommits, ensureRequestBranches, fetchBranch, filesByKey, findBase, listImageFiles, readInputIds, viewOf, type BaseView, type Git, type RequestBranchesView } from '../repo/index.js';
import { resolveImage, type TemplateMap } from '../resolve/index.js';
import { gitBlobId, sha256 } from '../shared/digest.js';
import { InputError, UsageError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { RepoTarget } from './process-profiles.js';
import { loadSite } from './site.js';

export interface RerenderedImage {
  key: string;
  /** rerendered: committed (or, with --dry-run, would be); unchanged: same bytes; skipped: files left as they are. */
  outcome: 'rerendered' | 'unchanged' | 'skipped';
  /** The inputs whose change made new bytes: repo paths, or `image_name`. */
  changed?: string[];
  reason?: string;
}

export interface RerenderReport {
  base: string | null;
  dryRun: boolean;
  images: RerenderedImage[];
  commits: number;
  head: string | null;
  pushed: boolean;
}

/** Repo-relative paths of the two maps (the config keeps them absolute). */
export function mapPaths(loaded: LoadedConfig): { map: string; sources: string } {
  return { map: relative(loaded.paths.repo, loaded.paths.templateMap), sources: relative(loaded.paths.repo, loaded.paths.sourceImages) };
}

/**
 * What the re-render depends on, as paths for one `git ls-tree`: both maps
 * and the folder of every template the map names (a template added to a
 * folder changes its tree id too, which only costs a re-render that commits
 * nothing).
 */
export function inputPathsOf(loaded: LoadedConfig, templateMap: TemplateMap | undefined): string[] {
  const { map, sources } = mapPaths(loaded);
  const folders = new Set<string>();
  for (const template of Object.values(templateMap ?? {}).flat()) {
    if (isAbsolute(template) || template.startsWith('../')) continue;
    const folder = dirname(template);
    folders.add(folder === '.' ? template : folder);
  }
  return [...new Set([map, sources, ...[...folders].sort()])];
}

/**
 * Re-render images from their manifests with the maps, templates, source
 * images and image_name at the branch tip (fetched first when a remote is
 * set), one commit per image whose bytes change. `keys` limits it to those
 * images. With `dryRun` nothing is written: the report says what would change.
 * Profiles are never dropped here: without Aquilon's index nothing says which left.
 */
export async function rerenderImages(options: {
  loaded: LoadedConfig;
  repo: RepoTarget;
  log: Logger;
  keys?: string[];
  dryRun?: boolean;
  /** The caller fetched already (the auto re-render of a pass). */
  fetched?: boolean;
}): Promise<RerenderReport & { inputPaths: string[]; inputIds: Map<string, string>; requestBranches?: RequestBranchesView }> {
  const { loaded, repo, log } = options;
  const { git, branch, remote } = repo;
  if (remote && !options.fetched) await fetchBranch(git, remote, branch);
  let planned: Plan | undefined;
  const prepare = async (view: BaseView) => (planned = await planRerender({ loaded, git, view, log, ...(options.keys ? { keys: options.keys } : {}) })).changes;
  if (options.dryRun) {
    const base = await findBase(git, branch, remote);
    await prepare(viewOf(git, base));
    return { base, dryRun: true, images: planned!.images, commits: 0, head: base, pushed: false, inputPaths: planned!.inputPaths, inputIds: planned!.inputIds };
  }
  // Merge-request mode: each re-rendered image goes to its request branch, reviewed like a profile change.
  const { mode: _mode, ...target } = repo;
  const result = repo.mode === 'merge-request' && remote ? await ensureRequestBranches({ ...target, remote, log, prepare }) : await ensureCommits({ ...target, log, prepare });
  const committed = new Set(result.commits.map((commit) => commit.key));
  const images = planned!.images.map((image) => (image.outcome === 'rerendered' && !committed.has(image.key) ? { key: image.key, outcome: 'unchanged' as const } : image));
  for (const image of images) {
    if (image.outcome === 'skipped') log.warn({ imageKey: image.key, reason: image.reason }, 'image not re-rendered');
    else if (image.outcome === 'rerendered') log.info({ imageKey: image.key, changed: image.changed, trigger: 'rerender' }, 'image re-rendered and committed');
  }
  const requestBranches = 'view' in result ? (result.view as RequestBranchesView) : undefined;
  return { base: planned!.base, dryRun: false, images, commits: result.commits.length, head: result.head, pushed: result.pushed, inputPaths: planned!.inputPaths, inputIds: planned!.inputIds, ...(requestBranches ? { requestBranches } : {}) };
}

interface Plan {
  base: string | null;
  changes: ImageChange[];
  images: RerenderedImage[];
  inputPaths: string[];
  inputIds: Map<string, string>;
}

async function planRerender(options: { loaded: LoadedConfig; git: Git; view: BaseView; log: Logger; keys?: string[] }): Promise<Plan> {
  const { loaded, git, view } = options;
  const site = await loadSite(loaded, (paths) => view.readFiles(paths));
  const inputPaths = inputPathsOf(loaded, site.templateMap);
  const [tree, inputIds] = await Promise.all([listImageFiles(git, view.commit), readInputIds(git, view.commit, inputPaths)]);
  const present = [...tree.keys()].flatMap((path) => {
    const match = /^images\/([^/]+)\/image\.json$/.exec(path);
    return match ? [match[1]!] : [];
  });
  let keys = present;
  if (options.keys) {
    const known = new Set(present);
    const missing = options.keys.filter((key) => !known.has(key));
    if (missing.length) throw new UsageError(`rerender: no images/${missing[0]}/${MANIFEST_FILE} on ${view.commit ? view.commit.slice(0, 12) : 'the (empty) branch'}`);
    keys = [...new Set(options.keys)];
  }
  const manifests = await view.readFiles(keys.map((key) => `images/${key}/${MANIFEST_FILE}`));
  const images: RerenderedImage[] = [];
  const ready: { key: string; text: string; manifest: Manifest; spec: ImageSpec }[] = [];
  for (const key of keys.sort()) {
    const where = `images/${key}/${MANIFEST_FILE}`;
    const skip = (reason: string) => images.push({ key, outcome: 'skipped', reason });
    const text = manifests.get(where)!;
    const parsed = parseManifest(text);
    if ('problem' in parsed) {
      skip(`${where}: ${parsed.problem}`);
      continue;
    }
    const facts = factsOfManifest(parsed.manifest);
    if ('problem' in facts) {
      skip(`${where}: cannot re-render without a profile: ${facts.problem}`);
      continue;
    }
    try {
      const resolution = resolveImage(facts, where, site);
      if (resolution.kind === 'skipped') skip(resolution.reason);
      else if (resolution.spec.key !== key) skip(`${where}: its facts give image key ${resolution.spec.key}`);
      else ready.push({ key, text, manifest: parsed.manifest, spec: resolution.spec });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      skip(error.message);
    }
  }
  const templates = await site.readTemplates(ready.flatMap(({ spec }) => spec.templates));
  const changes: ImageChange[] = [];
  const counts = filesByKey(tree);
  for (const { key, text, manifest, spec } of ready) {
    const sources = spec.templates.map((path) => templates.get(path)!);
    const files = renderImage({ spec, templates: sources, previousProfiles: manifest.profiles, profiles: [], previousManifest: text });
    if (!differs(key, files, tree, counts)) {
      images.push({ key, outcome: 'unchanged' });
      continue;
    }
    const changed = causesOf(loaded, manifest, spec, new Map(sources.map((source) => [source.path, sha256(source.text)])));
    images.push({ key, outcome: 'rerendered', changed });
    changes.push({ key, files, subject: `re-rendered: ${changed.join(', ')} changed`, trailers: { profiles: [], trigger: 'rerender', messageIds: [] } });
  }
  images.sort((a, b) => a.key.localeCompare(b.key));
  return { base: view.commit, changes, images, inputPaths, inputIds };
}


function differs(key: string, files: RenderedFile[], tree: Map<string, string>, counts: Map<string, number>): boolean {
  return (counts.get(key) ?? 0) !== files.length || files.some((file) => tree.get(`images/${file.path}`) !== gitBlobId(file.content));
}

/** Which input made the new bytes, named as the operator changed it. */
function causesOf(loaded: LoadedConfig, manifest: Manifest, spec: ImageSpec, digests: Map<string, string>): string[] {
  const causes: string[] = [];
  const recorded = manifest.templates.map((template) => template.template);
  if (recorded.join('\n') !== spec.templates.join('\n')) causes.push(mapPaths(loaded).map);
  for (const template of manifest.templates) {
    const digest = digests.get(template.template);
    if (digest !== undefined && digest !== template.digest) causes.push(template.template);
  }
  if (manifest.source_image !== spec.sourceImage) causes.push(mapPaths(loaded).sources);
  if (manifest.image_name !== spec.name) causes.push('image_name');
  // Nothing the operator changed: the renderer itself (a new release) renders differently.
  if (causes.length === 0) causes.push('rendering');
  return causes;
}
