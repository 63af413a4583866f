import * as z from 'zod/mini';
import '../shared/zod.js';
import type { LoadedConfig } from '../config/index.js';
import { createForge, diffProfiles, renderDescription, type Forge, type ForgeRequest, type RequestFacts } from '../forge/index.js';
import type { ImageKey, ProfileInput } from '../model.js';
import { MANIFEST_FILE } from '../render/index.js';
import {
  deleteMergedBranches,
  fetchRequestBranches,
  imageFilesAt,
  parseTrailerLines,
  readTexts,
  readFilesAt,
  type Git,
  type RequestBranch,
  type RequestBranchesView,
} from '../repo/index.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { createProfileCopies } from './profile-copies.js';

const Manifest = z.looseObject({
  image_name: z.optional(z.string()),
  source_image: z.optional(z.string()),
  metadata: z.optional(z.record(z.string(), z.string())),
  profiles: z.optional(z.record(z.string(), z.string())),
  templates: z.optional(z.array(z.looseObject({ template: z.string(), digest: z.string(), files: z.optional(z.array(z.string())) }))),
});
type Manifest = z.infer<typeof Manifest>;

export interface RequestsReport {
  opened: string[];
  updated: string[];
  closed: string[];
  unchanged: number;
  handsOff: string[];
}

export function forgeOf(loaded: LoadedConfig, env: NodeJS.ProcessEnv, log: Logger): Forge {
  const { forge } = loaded.config;
  if (!forge) throw new ConfigError(`${loaded.source}: forge: repo.mode merge-request needs forge.type, forge.url and forge.project`);
  return createForge(forge, env, log);
}

/**
 * Every merge-request run ends here, whether or not a profile changed: the
 * forge's open requests are brought in line with the `packuilon/*` branches
 * (opened, updated in place, or closed), and the profile copies kept for the
 * descriptions are pruned to what git still records. The branches were
 * pushed before: a forge failure here loses nothing, the next run converges.
 */
export async function reconcileRequests(options: {
  loaded: LoadedConfig;
  git: Git;
  forge: Forge;
  log: Logger;
  view?: RequestBranchesView;
  rendered?: { key: ImageKey; profile: ProfileInput }[];
}): Promise<RequestsReport> {
  const { loaded, git, forge, log } = options;
  const { branch: defaultBranch, remote } = loaded.config.repo;
  if (!remote) throw new ConfigError(`${loaded.source}: repo.remote: merge-request mode pushes branches: set a remote`);
  const copies = createProfileCopies(loaded.paths.stateDir);
  for (const { key, profile } of options.rendered ?? []) await copies.keep(key, profile);

  const view = options.view ?? (await fetchRequestBranches(git, remote, defaultBranch));
  const open = new Map((await forge.listOpenRequests()).map((request) => [request.key, request]));
  const report: RequestsReport = { opened: [], updated: [], closed: [], unchanged: 0, handsOff: [] };
  const merged: RequestBranch[] = [];
  const recorded = new Map<ImageKey, Set<string>>();

  const keys = [...view.branches.keys()].sort();
  const manifests = await readManifests(git, view, keys);
  for (const key of keys) {
    const branch = view.branches.get(key)!;
    const request = open.get(key);
    open.delete(key);
    const { before, after } = manifests.get(key)!;
    recorded.set(key, new Set([...Object.values(before?.profiles ?? {}), ...Object.values(after?.profiles ?? {})]));
    if (branch.merged) {
      merged.push(branch);
      if (request) {
        await forge.closeRequest(request, `Closed by Packuilon: ${defaultBranch} already has this render of \`${key}\`.`);
        report.closed.push(key);
      }
      continue;
    }
    const title = branch.message.split('\n', 1)[0]!.trim();
    const facts = await factsOf({ key, branch, before, after, defaultBranch, git, find: (digest) => copies.find(key, digest) });
    const body = renderDescription(branch.humanCommit ? { ...facts, handsOff: branch.humanCommit } : facts);
    if (branch.humanCommit) {
      report.handsOff.push(key);
      if (request && !request.body.includes('no longer updates this branch')) {
        await forge.comment(request, `Packuilon found commit ${branch.humanCommit.slice(0, 12)} made by hand on \`${branch.branch}\` and will not push to this branch again. Close this request and delete the branch to hand it back.`);
        await forge.updateRequest(request, { title: request.title, body });
      }
      continue;
    }
    await ensureRequest({ forge, request, key, branch, defaultBranch, title, body, report, log });
  }
  // Open requests whose branch is gone: the render equals the default branch again.
  for (const [key, request] of open) {
    await forge.closeRequest(request, `Closed by Packuilon: the render of \`${key}\` equals ${defaultBranch} again, so there is nothing to review; its branch was deleted. A later change opens a new request.`);
    report.closed.push(key);
    log.info({ imageKey: key, request: request.url }, 'request closed: render equals the default branch');
  }
  await deleteMergedBranches(git, remote, merged);
  const defaultRecorded = await readFilesAt(git, view.defaultTip, (await copies.keys()).map((key) => `images/${key}/${MANIFEST_FILE}`));
  for (const [path, text] of defaultRecorded) {
    const key = path.split('/')[1]!;
    const set = recorded.get(key) ?? new Set<string>();
    for (const digest of Object.values(parseManifest(text)?.profiles ?? {})) set.add(digest);
    recorded.set(key, set);
  }
  await copies.prune(recorded);
  return report;
}

async function ensureRequest(options: {
  forge: Forge;
  request: ForgeRequest | undefined;
  key: ImageKey;
  branch: RequestBranch;
  defaultBranch: string;
  title: string;
  body: string;
  report: RequestsReport;
  log: Logger;
}): Promise<void> {
  const { forge, request, key, report, log } = options;
  if (!request) {
    const opened = await forge.openRequest({ key, branch: options.branch.branch, base: options.defaultBranch, title: options.title, body: options.body });
    report.opened.push(key);
    log.info({ imageKey: key, request: opened.url }, 'request opened');
    return;
  }
  if (request.title === options.title && request.body.trim() === options.body.trim()) {
    report.unchanged++;
    return;
  }
  await forge.updateRequest(request, { title: options.title, body: options.body });
  report.updated.push(key);
  log.info({ imageKey: key, request: request.url }, 'request updated');
}

async function readManifests(git: Git, view: RequestBranchesView, keys: ImageKey[]): Promise<Map<ImageKey, { before?: Manifest; after?: Manifest }>> {
  // One `git cat-file --batch` for both sides of every image.
  const pathOf = (key: ImageKey) => `images/${key}/${MANIFEST_FILE}`;
  const names = keys.flatMap((key) => [`${view.branches.get(key)!.tip}:${pathOf(key)}`, ...(view.defaultTip ? [`${view.defaultTip}:${pathOf(key)}`] : [])]);
  const blobs = await readTexts(git, names);
  const result = new Map<ImageKey, { before?: Manifest; after?: Manifest }>();
  for (const key of keys) {
    const after = parseManifest(blobs.get(`${view.branches.get(key)!.tip}:${pathOf(key)}`));
    const before = view.defaultTip ? parseManifest(blobs.get(`${view.defaultTip}:${pathOf(key)}`)) : undefined;
    result.set(key, { ...(before ? { before } : {}), ...(after ? { after } : {}) });
  }
  return result;
}

function parseManifest(text: string | undefined): Manifest | undefined {
  if (!text) return undefined;
  try {
    const parsed = z.safeParse(Manifest, JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function factsOf(options: {
  key: ImageKey;
  branch: RequestBranch;
  before: Manifest | undefined;
  after: Manifest | undefined;
  defaultBranch: string;
  git: Git;
  find(digest: string): Promise<string | undefined>;
}): Promise<RequestFacts> {
  const { before, after, key } = options;
  const trailers = parseTrailerLines(options.branch.message);
  const trigger = trailers.find((trailer) => trailer.key === 'Trigger')?.value ?? 'unknown';
  const beforeProfiles = before?.profiles ?? {};
  const afterProfiles = after?.profiles ?? {};
  const why: RequestFacts['why'] = [];
  for (const [name, digest] of Object.entries(afterProfiles).sort(([a], [b]) => a.localeCompare(b))) {
    const previous = beforeProfiles[name];
    if (previous === digest) continue;
    if (!previous) {
      why.push({ name, changes: null, isNew: true });
      continue;
    }
    const [oldText, newText] = await Promise.all([options.find(previous), options.find(digest)]);
    const changes = oldText && newText ? safeDiff(oldText, newText) : null;
    why.push({ name, changes, isNew: false });
  }
  return {
    key,
    defaultBranch: options.defaultBranch,
    trigger,
    image: { ...(before?.image_name !== undefined ? { before: before.image_name } : {}), after: after?.image_name ?? key },
    sourceImage: { ...(before?.source_image !== undefined ? { before: before.source_image } : {}), after: after?.source_image ?? '' },
    metadata: { ...(before?.metadata ? { before: before.metadata } : {}), after: after?.metadata ?? {} },
    templates: { ...(before?.templates ? { before: before.templates } : {}), after: after?.templates ?? [] },
    profiles: Object.entries(afterProfiles)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, digest]) => ({ name, after: digest, ...(beforeProfiles[name] ? { before: beforeProfiles[name] } : {}) })),
    // The manifest lists what each template rendered: no tree walk per request.
    files: after?.templates?.every((template) => template.files) ? [MANIFEST_FILE, ...after.templates.flatMap((template) => template.files!)].sort() : await imageFilesAt(options.git, options.branch.tip, key),
    why,
  };
}

function safeDiff(oldText: string, newText: string) {
  try {
    return diffProfiles(JSON.parse(oldText), JSON.parse(newText));
  } catch {
    return null;
  }
}

/** After a render in merge-request mode: keep the rendered profiles' copies and reconcile the requests. */
export async function reconcileAfterRender(options: {
  loaded: LoadedConfig;
  git: Git;
  forge: Forge;
  log: Logger;
  inputs: { profile: ProfileInput }[];
  result?: { outcomes: { key?: string; outcome: string }[]; requestBranches?: RequestBranchesView };
}): Promise<RequestsReport> {
  const rendered = (options.result?.outcomes ?? []).flatMap((outcome, index) =>
    outcome.key && (outcome.outcome === 'committed' || outcome.outcome === 'unchanged') ? [{ key: outcome.key, profile: options.inputs[index]!.profile }] : [],
  );
  return reconcileRequests({
    loaded: options.loaded,
    git: options.git,
    forge: options.forge,
    log: options.log,
    rendered,
    ...(options.result?.requestBranches ? { view: options.result.requestBranches } : {}),
  });
}
