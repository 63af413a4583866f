import type { ManifestFacts } from './schema.js';

export type PlanAction = 'build' | 'deleted' | 'stale';

/** The contract of `ci plan --json`. */
export interface Plan {
  from: string | null;
  to: string;
  images: { key: string; action: PlanAction; reasons: string[] }[];
}

export interface PlanCommit {
  commit: string;
  subject: string;
  trailers: { key: string; value: string }[];
  paths: string[];
}

/** A map or the error it gave when parsed: a broken map makes every image that uses it stale. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface PlanInput {
  /** null: a first push, everything at `to` counts. */
  from: string | null;
  to: string;
  /** Paths whose content differs between from and to (every path of `to` on a first push). */
  changedPaths: { status: string; path: string }[];
  /** Commits of the range that touched images/ or an input, newest first. */
  commits: PlanCommit[];
  /** Image keys with a folder at `to`. */
  imagesAtTo: ReadonlySet<string>;
  /** image.json at `to` per key (only needed when an input changed). */
  manifests: ReadonlyMap<string, ManifestFacts>;
  inputs: {
    templateMapPath: string;
    sourcesPath: string;
    /** The config file's path in the repo, when it lives there. */
    configPath?: string;
    templateMap?: Parsed<Record<string, string[]>>;
    sources?: Parsed<ReadonlyMap<string, string>>;
    /** sha256 of each template at `to`, by repo path; absent: the template is gone. */
    templateDigests: ReadonlyMap<string, string>;
    /** image_name at from and at to, when the config changed in the range. */
    imageName?: { from: string; to: string };
  };
}

/** An image key is a plain name: it becomes a job name, a resource group and a path. */
export const IMAGE_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** images/<key>/… (or the folder itself, `images/<key>/`) → key; files directly under images/, like the source map, are no image. */
export function imageKeyOfPath(path: string): string | undefined {
  const match = /^images\/([^/]+)\//.exec(path);
  return match?.[1];
}

/**
 * What to build between two commits, and why. Pure: everything it needs was
 * read from git by the caller.
 */
export function planImages(input: PlanInput): Plan {
  const changed = new Map<string, boolean>(); // key → deleted?
  for (const { path } of input.changedPaths) {
    const key = imageKeyOfPath(path);
    if (key !== undefined) changed.set(key, !input.imagesAtTo.has(key));
  }
  const touches = commitsByKey(input.commits);
  const stale = staleImages(input, touches);
  const keys = new Set([...changed.keys(), ...stale.keys()]);
  const images: Plan['images'] = [];
  for (const key of [...keys].sort()) {
    const history = touches.get(key) ?? [];
    const because = [...new Set(history.flatMap((entry) => reasonsOf(key, input.commits[entry]!)))];
    if (changed.get(key) === true) {
      const last = history[0] === undefined ? undefined : input.commits[history[0]];
      images.push({ key, action: 'deleted', reasons: [last ? `images/${key}/ removed in ${short(last.commit)} (${last.subject})` : `images/${key}/ removed`] });
    } else if (stale.has(key)) {
      images.push({ key, action: 'stale', reasons: [...stale.get(key)!, ...because] });
    } else {
      images.push({ key, action: 'build', reasons: because.length ? because : [input.from ? `images/${key}/ changed` : 'first push: every image is built'] });
    }
  }
  return { from: input.from, to: input.to, images };
}

/** Per key, the indexes (newest first) of the commits that touched its folder. */
function commitsByKey(commits: PlanCommit[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  commits.forEach((commit, index) => {
    for (const key of new Set(commit.paths.map(imageKeyOfPath).filter((k): k is string => k !== undefined))) {
      const list = byKey.get(key) ?? [];
      list.push(index);
      byKey.set(key, list);
    }
  });
  return byKey;
}

/** Why one commit changed one image, oldest reason first, from its subject and trailers. */
export function reasonsOf(key: string, commit: PlanCommit): string[] {
  const subject = /^images\(([^)]*)\):\s*(.*)$/.exec(commit.subject);
  const trigger = commit.trailers.find((t) => t.key === 'Trigger')?.value;
  if (!subject || subject[1] !== key) return [`changed by ${short(commit.commit)} (${commit.subject})`];
  const what = subject[2]!;
  if (trigger === 'rerender' || what.startsWith('re-rendered')) return [what];
  const profiles: { name: string; digest?: string }[] = [];
  for (const { key: name, value } of commit.trailers) {
    if (name === 'Profile') profiles.push({ name: value });
    else if (name === 'Profile-Digest' && profiles.length) profiles[profiles.length - 1]!.digest = value;
  }
  if (trigger === 'submit') return [`submitted by hand${profiles.length ? ` (${profiles.map((p) => p.name).join(', ')})` : ''}`];
  if (profiles.length === 0) return [what];
  const verb = what.startsWith('new image') ? 'new' : 'changed';
  return profiles.map((p) => `profile ${p.name} ${verb}${p.digest ? ` (${p.digest})` : ''}`);
}

/**
 * Images whose committed files no longer follow from the inputs at `to`,
 * for each input the range changed: the reason names the changed file.
 */
function staleImages(input: PlanInput, touches: Map<string, number[]>): Map<string, string[]> {
  const stale = new Map<string, string[]>();
  const mark = (key: string, reason: string) => {
    const reasons = stale.get(key) ?? [];
    if (!reasons.includes(reason)) reasons.push(reason);
    stale.set(key, reasons);
  };
  const changedPaths = new Set(input.changedPaths.map((change) => change.path));
  const { inputs } = input;
  for (const [key, manifest] of input.manifests) {
    if (!input.imagesAtTo.has(key)) continue;
    for (const { template, digest } of manifest.templates) {
      const path = repoPath(template);
      if (!changedPaths.has(path)) continue;
      const now = inputs.templateDigests.get(path);
      if (now === undefined) mark(key, `${path} removed`);
      else if (now !== digest) mark(key, `${path} changed`);
    }
    if (changedPaths.has(inputs.templateMapPath) && inputs.templateMap) {
      const map = inputs.templateMap;
      if (!map.ok) mark(key, `${inputs.templateMapPath} changed (${map.error})`);
      else {
        const wanted = (map.value[key] ?? map.value.DEFAULT ?? []).map(repoPath);
        const recorded = manifest.templates.map((t) => repoPath(t.template));
        if (wanted.join('\n') !== recorded.join('\n')) mark(key, `${inputs.templateMapPath} changed`);
      }
    }
    if (changedPaths.has(inputs.sourcesPath) && inputs.sources && manifest.source_key !== undefined) {
      const sources = inputs.sources;
      if (!sources.ok) mark(key, `${inputs.sourcesPath} changed (${sources.error})`);
      else if (sources.value.get(manifest.source_key) !== manifest.source_image) mark(key, `${inputs.sourcesPath} changed`);
    }
  }
  if (inputs.imageName && inputs.imageName.from !== inputs.imageName.to && inputs.configPath) {
    // The name is not recomputed here (that is resolve's): an image is fresh when a
    // commit at or after the config's last change in the range re-rendered it.
    const configChange = input.commits.findIndex((commit) => commit.paths.includes(inputs.configPath!));
    for (const key of input.imagesAtTo) {
      const newest = touches.get(key)?.[0];
      if (configChange < 0 || newest === undefined || newest > configChange) mark(key, `image_name changed in ${inputs.configPath}`);
    }
  }
  return stale;
}

/** Template paths as the map writes them (`./templates/x.json`) → as git lists them. */
function repoPath(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

function short(commit: string): string {
  return commit.slice(0, 10);
}
