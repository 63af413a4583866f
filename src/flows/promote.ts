// ci promote / ci reject / rollback / prune: read Glance's state, plan, apply,
// write out/<key>/promote.json. The planning is src/openstack/lifecycle.ts.
import { readFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as z from 'zod/mini';
import '../shared/zod.js';
import type { LoadedConfig } from '../config/index.js';
import { ConfigError, UsageError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/fs.js';
import type { Logger } from '../shared/log.js';
import { formatIssues } from '../shared/zod.js';
import { commitFile, createGit } from '../repo/index.js';
import { VERSION } from '../version.js';
import { whatFailed } from './build-inputs.js';
import { openstackSession } from './cloud.js';
import {
  applySteps, checkRoles, createGlance, currentImages, planPromote, planPrune, planReject, planRollback,
  promotedName, warehousedOf, STAMP,
  type Change, type Image, type ImageState, type ImageStore, type LifecycleOptions, type Step,
} from '../openstack/index.js';

export type LifecycleAction = 'promote' | 'reject' | 'rollback' | 'prune';

export interface LifecycleFlowOptions {
  loaded: LoadedConfig;
  env: NodeJS.ProcessEnv;
  cwd: string;
  log: Logger;
  key: string;
  /** --image-id; else out/<key>/build.json. */
  imageIds?: string[];
  /** Where out/<key>/ lives [repo/out]. */
  outDir?: string;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Tests: called after each applied step (a throw here is a kill half-way). */
  afterStep?: (step: Step, index: number) => void | Promise<void>;
}

export interface LifecycleReport {
  key: string;
  action: LifecycleAction;
  status: 'done' | 'failed' | 'nothing-to-do' | 'dry-run';
  project: string;
  images: { id: string; before: string | null; after: string | null }[];
  changes: Change[];
  /** Prune dry runs: what --apply would do; images left alone and why. */
  planned?: Change[];
  skipped?: { image: string; name: string | null; reason: string }[];
  /** rollback: the names that had no warehoused image. */
  nothing_to_roll_back?: string[];
  error?: string;
  pipeline_url: string | null;
  commit: string | null;
  at: string;
}

const BuildRecord = z.object({
  key: z.string(),
  commit: z.nullable(z.string()),
  builds: z.array(z.object({ image_name: z.optional(z.nullable(z.string())), image_id: z.nullable(z.string()) })),
});

const ID = /^[0-9a-fA-F-]{8,64}$/;

interface Cloud {
  glance: ImageStore;
  project: string;
  roles: string[];
  who: string;
}

async function connect(options: LifecycleFlowOptions): Promise<Cloud> {
  const { credentials, session } = openstackSession(options);
  const identity = await session.identity();
  if (!identity.projectId) throw new ConfigError(`${credentials.source}, ${credentials.who}: the token is not scoped to a project; the promote identity must be scoped to the project that owns the images`);
  return { glance: createGlance(session), project: identity.projectId, roles: identity.roles, who: `${credentials.source}, ${credentials.who}` };
}

function lifecycleOptions(options: LifecycleFlowOptions): LifecycleOptions {
  const p = options.loaded.config.promote;
  return { candidatePrefix: p.candidate_prefix, retire: p.retire, copyProperties: p.copy_properties, dateFormat: p.date_format, now: (options.now ?? (() => new Date()))() };
}

const outOf = (options: LifecycleFlowOptions) => join(options.outDir ?? join(options.loaded.paths.repo, 'out'), options.key);

/** The new image IDs: --image-id, else out/<key>/build.json (non-null image_id of each build). */
export async function buildImageIds(options: LifecycleFlowOptions): Promise<{ ids: string[]; commit: string | null }> {
  if (options.imageIds?.length) {
    for (const id of options.imageIds) if (!ID.test(id)) throw new UsageError(`--image-id: ${JSON.stringify(id)} is not a Glance image ID`);
    return { ids: options.imageIds, commit: null };
  }
  const file = join(outOf(options), 'build.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: no build record (run ci build first, or give --image-id)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file}: not JSON`);
  }
  const parsed = BuildRecord.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));
  if (parsed.data.key !== options.key) throw new ConfigError(`${file}: key: expected ${options.key}, received ${parsed.data.key}`);
  const ids = parsed.data.builds.map((b) => b.image_id).filter((id): id is string => !!id);
  for (const id of ids) if (!ID.test(id)) throw new ConfigError(`${file}: image_id ${JSON.stringify(id)} is not a Glance image ID`);
  if (!ids.length) throw new UsageError(`${file}: no build made an image (no image_id); nothing to promote or reject`);
  return { ids, commit: parsed.data.commit };
}

/** The project's images, hidden ones too, every visibility. */
async function ownedImages(cloud: Cloud): Promise<Image[]> {
  const [shown, hidden] = await Promise.all([
    cloud.glance.list({ owner: cloud.project, visibility: 'all' }),
    cloud.glance.list({ owner: cloud.project, visibility: 'all', os_hidden: 'true' }),
  ]);
  const byId = new Map([...shown, ...hidden].map((i) => [i.id, i]));
  return [...byId.values()];
}

/** A candidate by ID; absent or invisible to the identity is a configuration fault (exit 2), not a retry. */
async function candidateOf(cloud: Cloud, id: string): Promise<Image> {
  const image = await cloud.glance.find(id);
  if (!image) throw new ConfigError(`image ${id}: not found in Glance, or not visible to ${cloud.who}`);
  return image;
}

async function stateOf(cloud: Cloud, image: Image): Promise<ImageState> {
  return { image, members: image.visibility === 'shared' ? await cloud.glance.members(image.id) : [] };
}

/** packuilon_profile / _digest from the manifest: names sorted, digests in the same order; cut to Glance's 255 characters. */
/** DESIGN.md's provenance properties of an image of the key (also set on a disk image at upload). */
export async function provenance(options: Pick<LifecycleFlowOptions, 'env' | 'key' | 'loaded' | 'log'>, commit: string | null): Promise<Record<string, string>> {
  const env = options.env;
  const sha = env.CI_COMMIT_SHA || commit;
  const out: Record<string, string> = { packuilon_image_key: options.key, packuilon_version: VERSION };
  if (sha) out.packuilon_commit = sha;
  if (env.CI_PIPELINE_URL) out.packuilon_pipeline_url = env.CI_PIPELINE_URL;
  if (sha && env.CI_PROJECT_URL) out.image_source = `${env.CI_PROJECT_URL.replace(/\/+$/, '')}/-/commit/${sha}`;
  const manifest = join(options.loaded.paths.repo, 'images', options.key, 'image.json');
  const profiles = await readFile(manifest, 'utf8').then((t) => (JSON.parse(t) as { profiles?: Record<string, string> }).profiles ?? {}, () => undefined);
  if (profiles) {
    const names = Object.keys(profiles).sort();
    out.packuilon_profile = fit(names);
    out.packuilon_profile_digest = fit(names.map((n) => String(profiles[n])));
  } else {
    options.log.warn({ imageKey: options.key, manifest }, 'no manifest: the image gets no packuilon_profile provenance');
  }
  return out;
}

function fit(values: string[]): string {
  const all = values.join(',');
  if (all.length <= 255) return all;
  const kept: string[] = [];
  for (const value of values) {
    const suffix = `,+${values.length - kept.length - 1} more`;
    if ([...kept, value].join(',').length + suffix.length > 255) break;
    kept.push(value);
  }
  return `${kept.join(',')},+${values.length - kept.length} more`;
}

async function finish(options: LifecycleFlowOptions, report: LifecycleReport): Promise<LifecycleReport> {
  const dir = outOf(options);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'promote.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

function reportOf(options: LifecycleFlowOptions, action: LifecycleAction, project: string, commit: string | null): LifecycleReport {
  return {
    key: options.key, action, status: 'done', project, images: [], changes: [],
    pipeline_url: options.env.CI_PIPELINE_URL || null, commit: options.env.CI_COMMIT_SHA || commit, at: lifecycleOptions(options).now.toISOString(),
  };
}

/** Apply `steps`; on failure the report says which step, and what was done before it, and the error is rethrown. */
async function run(options: LifecycleFlowOptions, cloud: Cloud, steps: Step[], report: LifecycleReport): Promise<LifecycleReport> {
  const result = await applySteps(cloud.glance, steps, { log: options.log.child({ imageKey: options.key }), ...(options.afterStep ? { afterStep: options.afterStep } : {}) });
  report.changes.push(...result.changes);
  if (result.failed) {
    report.status = 'failed';
    report.error = result.failed.error.message;
    await finish(options, report);
    // the caller records what was done before the failure
    throw Object.assign(result.failed.error, { report });
  }
  return report;
}

const renamesOf = (changes: Change[], images: Image[]): LifecycleReport['images'] =>
  images.map((i) => ({ id: i.id, before: i.name, after: (changes.filter((c) => c.image === i.id && c.field === 'name').pop()?.after as string | undefined) ?? i.name }));

export async function promote(options: LifecycleFlowOptions): Promise<LifecycleReport> {
  const { ids, commit } = await buildImageIds(options);
  const cloud = await connect(options);
  const lifecycle = lifecycleOptions(options);
  const report = reportOf(options, 'promote', cloud.project, commit);
  const props = await provenance(options, commit);
  const touched: Image[] = [];
  for (const id of ids) {
    const candidate = await stateOf(cloud, await candidateOf(cloud, id));
    if (candidate.image.owner !== cloud.project) throw new ConfigError(`image ${id} (${JSON.stringify(candidate.image.name)}): owned by project ${candidate.image.owner ?? 'none'}, not by the promoting project ${cloud.project}`);
    if (candidate.image[STAMP.supersededBy] || candidate.image[STAMP.rejectedAt]) {
      throw new UsageError(`image ${id} (${JSON.stringify(candidate.image.name)}) was ${candidate.image[STAMP.rejectedAt] ? 'rejected' : 'already superseded'}: it cannot be promoted`);
    }
    const name = promotedName(candidate.image.name ?? '', lifecycle.candidatePrefix);
    const owned = await ownedImages(cloud);
    const related = owned.filter((i) => i.id !== id && (i.name === name || i[STAMP.supersededBy] === id));
    const states = await Promise.all(related.map((i) => stateOf(cloud, i)));
    const steps = planPromote(candidate, states, cloud.project, props, lifecycle);
    checkRoles(steps, cloud.roles, cloud.who, cloud.project);
    await run(options, cloud, steps, report);
    touched.push(candidate.image, ...related);
    if (options.loaded.config.promote.chain_source.includes(options.key)) await chainSource(options, related.map((i) => i.id), id, report);
  }
  if (options.loaded.config.promote.prune_after_promote) {
    const names = [...new Set(touched.filter((i) => ids.includes(i.id)).map((i) => promotedName(i.name ?? '', lifecycle.candidatePrefix)))];
    const { steps } = planPrune(await ownedImages(cloud), cloud.project, { ...pruneSettings(options), names });
    await run(options, cloud, steps, report);
  }
  report.images = renamesOf(report.changes, touched);
  if (!report.changes.length) report.status = 'nothing-to-do';
  return finish(options, report);
}

/**
 * promote.chain_source: the source-image map's entries that named an image
 * this promotion warehoused now name the new one (the seed's sed), in one
 * `[skip ci]` commit pushed to repo.remote; the spine's re-render then
 * rebuilds the images built on it.
 */
async function chainSource(options: LifecycleFlowOptions, oldIds: string[], newId: string, report: LifecycleReport): Promise<void> {
  const { config, paths } = options.loaded;
  if (!oldIds.length) return;
  if (!config.repo.remote) {
    options.log.warn({ imageKey: options.key }, 'promote.chain_source: repo.remote is not set: the source-image map is not advanced');
    return;
  }
  const path = relative(paths.repo, paths.sourceImages);
  const replaced: string[] = [];
  const commit = await commitFile({
    git: createGit(paths.repo, { GIT_AUTHOR_NAME: 'Packuilon', GIT_AUTHOR_EMAIL: 'packuilon@localhost', GIT_COMMITTER_NAME: 'Packuilon', GIT_COMMITTER_EMAIL: 'packuilon@localhost', ...options.env }),
    env: options.env, remote: config.repo.remote, branch: config.repo.branch, path, log: options.log,
    update: (text) => {
      if (text === undefined) return null;
      replaced.length = 0;
      // only whole quoted IDs, so formatting, comments and other entries stay byte for byte
      const next = text.replace(/"([0-9a-fA-F-]{8,64})"/g, (whole, id: string) => (oldIds.includes(id) ? (replaced.push(id), `"${newId}"`) : whole));
      return next === text ? null : next;
    },
    message: `sources: ${options.key}'s new image ${newId} replaces ${[...new Set(replaced)].join(', ') || oldIds.join(', ')}\n\nPromoted by ${report.pipeline_url ?? 'packuilon ci promote'}.\n\n[skip ci]\nPackuilon-Version: ${VERSION}\n`,
  });
  if (commit) {
    report.changes.push({ image: newId, name: null, field: `${path} (commit ${commit})`, before: oldIds, after: newId });
    options.log.info({ imageKey: options.key, commit, path }, 'source-image map advanced to the promoted image');
  }
}

/**
 * `ci reject --if-failed`, the pipeline's reject job, which runs after any
 * failure of the chain: only a failed test rejects, and only the images the
 * test judged; otherwise why nothing was rejected.
 */
export async function rejectIfFailed(options: LifecycleFlowOptions): Promise<LifecycleReport | { nothingRejected: string }> {
  const failed = await whatFailed(outOf(options), options.key);
  if (failed.outcome !== 'rejected') return { nothingRejected: failed.why };
  return reject(options.imageIds?.length || !failed.imageIds.length ? options : { ...options, imageIds: failed.imageIds });
}

export async function reject(options: LifecycleFlowOptions): Promise<LifecycleReport> {
  const { ids, commit } = await buildImageIds(options);
  const cloud = await connect(options);
  const lifecycle = lifecycleOptions(options);
  const report = reportOf(options, 'reject', cloud.project, commit);
  const touched: Image[] = [];
  for (const id of ids) {
    const candidate = await stateOf(cloud, await candidateOf(cloud, id));
    if (candidate.image.owner !== cloud.project) throw new ConfigError(`image ${id}: owned by project ${candidate.image.owner ?? 'none'}, not by ${cloud.project}`);
    // promote stamps packuilon_image_key: a stamped image is (or was) current, and reject never touches the current one
    if (candidate.image[STAMP.supersededBy] || (candidate.image[STAMP.imageKey] && !candidate.image[STAMP.rejectedAt])) {
      throw new UsageError(`image ${id} (${JSON.stringify(candidate.image.name)}) was promoted: reject only rejects new candidates`);
    }
    await run(options, cloud, planReject(candidate, lifecycle), report);
    touched.push(candidate.image);
  }
  report.images = renamesOf(report.changes, touched);
  if (!report.changes.length) report.status = 'nothing-to-do';
  return finish(options, report);
}

/** Every image name of the key with a warehoused image is rolled back; the others are listed in nothing_to_roll_back. */
export async function rollback(options: LifecycleFlowOptions): Promise<LifecycleReport> {
  const cloud = await connect(options);
  const lifecycle = lifecycleOptions(options);
  const report = reportOf(options, 'rollback', cloud.project, null);
  const owned = await ownedImages(cloud);
  const current = currentImages(owned, options.key, cloud.project);
  report.nothing_to_roll_back = [];
  const touched: Image[] = [];
  for (const image of current.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''))) {
    const restore = warehousedOf(owned, image.name ?? '', cloud.project, lifecycle.dateFormat)[0];
    if (!restore) {
      report.nothing_to_roll_back.push(image.name ?? image.id);
      continue;
    }
    await run(options, cloud, planRollback(image, restore, lifecycle), report);
    touched.push(image, restore);
  }
  if (!current.length) report.nothing_to_roll_back.push(`(no current image of ${options.key})`);
  report.images = renamesOf(report.changes, touched);
  if (!report.changes.length) report.status = 'nothing-to-do';
  return finish(options, report);
}

function pruneSettings(options: LifecycleFlowOptions) {
  const p = options.loaded.config.promote;
  return { keep: p.keep, prune: p.prune, dateFormat: p.date_format };
}

/** Retention: a dry run (report.planned) unless `apply`. Without a key, every name; with one, the key's current names. */
export async function prune(options: Omit<LifecycleFlowOptions, 'key'> & { key?: string; apply: boolean }): Promise<LifecycleReport> {
  const flow: LifecycleFlowOptions = { ...options, key: options.key ?? '_all' };
  const cloud = await connect(flow);
  const owned = await ownedImages(cloud);
  const names = options.key ? currentImages(owned, options.key, cloud.project).map((i) => i.name ?? '') : undefined;
  const { steps, skipped } = planPrune(owned, cloud.project, { ...pruneSettings(flow), ...(names ? { names } : {}) });
  const report = reportOf(flow, 'prune', cloud.project, null);
  report.skipped = skipped;
  if (!options.apply) {
    report.status = 'dry-run';
    report.planned = steps.flatMap((s) => s.changes);
    return options.key ? finish(flow, report) : report;
  }
  await run(flow, cloud, steps, report);
  if (!report.changes.length) report.status = 'nothing-to-do';
  return options.key ? finish(flow, report) : report;
}

