import type { LoadedConfig } from '../config/index.js';
import type { ImageChange, ImageSpec, ProfileFacts, ProfileInput, ProfileRef, Trigger } from '../model.js';
import { MANIFEST_FILE, profilesOfManifest, renderImage } from '../render/index.js';
import { ensureCommits, ensureRequestBranches, type Git, type RequestBranchesView } from '../repo/index.js';
import { parseProfile, resolveImage } from '../resolve/index.js';
import { sha256 } from '../shared/digest.js';
import { ConfigError, InputError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { loadSite } from './site.js';

export interface ProfileOutcome {
  profile: string;
  digest: string;
  outcome: 'committed' | 'unchanged' | 'rejected' | 'skipped';
  key?: string;
  reason?: string;
  messageId?: string;
}

export interface RepoTarget {
  git: Git;
  branch: string;
  remote?: string;
  pushRetries: number;
  /** direct: commits on the branch; merge-request: a branch `packuilon/<key>` per image, reviewed before it reaches `branch`. */
  mode: 'direct' | 'merge-request';
  /** repo.checkout: move the work tree with the branch [true]. */
  checkout?: boolean;
}

/** A profile parsed as it arrived (its text dropped): what a large pass keeps of each. */
export interface ParsedInput {
  profile: ProfileRef;
  /** sha256 of the bytes: an earlier release recorded that instead of the canonical digest. */
  byteDigest: string;
  messageId?: string;
  parsed: { facts: ProfileFacts } | { error: InputError };
}

/** Parse now, keep only the facts: 20,000 profile texts would be ~300 MB, their facts a few MB. */
/** `document`: the text already parsed (detect parses it once, for the digest). */
/** `byteDigest`: sha256 of the bytes, when the caller has it (hashing the text encodes it again). */
export function parseInput(profile: ProfileInput, messageId?: string, document?: unknown, byteDigest = sha256(profile.text)): ParsedInput {
  const ref = { name: profile.name, digest: profile.digest };
  try {
    return { profile: ref, byteDigest, ...(messageId ? { messageId } : {}), parsed: { facts: parseProfile(profile.name, profile.text, document) } };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { profile: ref, byteDigest, ...(messageId ? { messageId } : {}), parsed: { error } };
  }
}

interface ImageGroup {
  spec: ImageSpec;
  members: { ref: ProfileRef; byteDigest: string; messageId?: string }[];
}

export function repoTarget(loaded: LoadedConfig, git: Git): RepoTarget {
  const { repo } = loaded.config;
  if (repo.mode === 'merge-request') {
    // Review happens on the forge: without a remote there is nowhere to push the request branches.
    if (!repo.remote) throw new ConfigError(`${loaded.source}: repo.remote: repo.mode merge-request pushes a branch per image: set the remote`);
    if (!loaded.config.forge) throw new ConfigError(`${loaded.source}: forge: repo.mode merge-request needs forge.type, forge.url and forge.project`);
  }
  return { git, branch: repo.branch, ...(repo.remote ? { remote: repo.remote } : {}), pushRetries: repo.push_retries, mode: repo.mode, checkout: repo.checkout };
}

/**
 * resolve → render → ensure commit, shared by detect, consume and submit.
 * Inputs come oldest first: within one image the newest profile's values win,
 * and every profile of the batch is recorded in one commit. Maps and templates
 * are read from the commit the changes are built on, again after a lost race.
 * Outcomes are in the order of the inputs.
 */
export async function processProfiles(options: {
  /** Raw profiles, or profiles parsed as they arrived (`parseInput`). */
  inputs: ({ profile: ProfileInput; messageId?: string } | ParsedInput)[];
  trigger: Trigger;
  loaded: LoadedConfig;
  repo: RepoTarget;
  log: Logger;
  /** Recorded profiles that stay behind their image (detect: those it saw leave the index are dropped); without it all stay. */
  keepProfile?: (name: string) => boolean;
  /** Called as image commits are handed to git: the number written so far, of how many images changed. */
  onCommitted?(count: number, images: number): void;
}): Promise<{ outcomes: ProfileOutcome[]; commits: number; head: string | null; pushed: boolean; attempts: number; requestBranches?: RequestBranchesView }> {
  const { log } = options;
  // Parsing needs no site: bad input is known before any git work.
  const inputs = options.inputs.map((input) => ('parsed' in input ? input : parseInput(input.profile, input.messageId)));
  const parsed = inputs.map(({ profile, messageId, parsed: result }): { base: ProfileOutcome; facts: ProfileFacts | undefined } => {
    const base: ProfileOutcome = { profile: profile.name, digest: profile.digest, outcome: 'unchanged', ...(messageId ? { messageId } : {}) };
    if ('facts' in result) return { base, facts: result.facts };
    const { error } = result;
    log.warn({ profile: profile.name, field: error.field, reason: error.problem }, 'profile rejected');
    return { base: { ...base, outcome: 'rejected', reason: error.message }, facts: undefined };
  });
  let outcomes: ProfileOutcome[] = parsed.map(({ base }) => base);
  if (parsed.every(({ facts }) => !facts)) return { outcomes, commits: 0, head: null, pushed: false, attempts: 0 };

  let images = 0;
  const { mode, remote, ...target } = options.repo;
  const ensure = mode === 'merge-request' && remote ? (args: Parameters<typeof ensureCommits>[0]) => ensureRequestBranches({ ...args, remote }) : ensureCommits;
  const result = await ensure({
    ...target,
    ...(remote ? { remote } : {}),
    log,
    onCommitted: (count) => options.onCommitted?.(count, images),
    async prepare(base) {
      const site = await loadSite(options.loaded, (paths) => base.readFiles(paths));
      outcomes = parsed.map(({ base: outcome }) => ({ ...outcome }));
      const groups = new Map<string, ImageGroup>();
      parsed.forEach(({ facts }, index) => {
        if (!facts) return;
        const input = inputs[index]!;
        const outcome = outcomes[index]!;
        try {
          const resolution = resolveImage(facts, input.profile.name, site);
          if (resolution.kind === 'skipped') {
            Object.assign(outcome, { outcome: 'skipped', key: resolution.key, reason: resolution.reason });
            return;
          }
          const { spec } = resolution;
          const group = groups.get(spec.key) ?? { spec, members: [] };
          group.spec = spec;
          const ref = input.profile;
          group.members = [...group.members.filter((m) => m.ref.name !== ref.name), { ref, byteDigest: input.byteDigest, ...(input.messageId ? { messageId: input.messageId } : {}) }];
          groups.set(spec.key, group);
          outcome.key = spec.key;
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          Object.assign(outcome, { outcome: 'rejected', reason: error.message });
        }
      });
      const templates = await site.readTemplates([...groups.values()].flatMap((group) => group.spec.templates));
      const manifests = await base.readFiles([...groups.keys()].map((key) => `images/${key}/${MANIFEST_FILE}`));
      images = groups.size;
      // Rendered one image at a time as git takes them: a first import never holds the site's files.
      return Object.assign(mapLazily(groups.values(), (group): ImageChange => {
        const previous = manifests.get(`images/${group.spec.key}/${MANIFEST_FILE}`);
        const recorded = profilesOfManifest(previous);
        // A manifest of an earlier release records the digest of the bytes: the same bytes keep
        // that record, so the upgrade itself rewrites no manifest (docs/decisions.md).
        const members = group.members.map((m) => {
          const was = recorded[m.ref.name];
          return was !== undefined && was !== m.ref.digest && was === m.byteDigest ? { ...m, ref: { ...m.ref, digest: was } } : m;
        });
        // A redelivered profile the image already records is not this commit's cause:
        // claiming it again would tell `history` it changed twice.
        const fresh = members.filter((m) => recorded[m.ref.name] !== m.ref.digest);
        const claimed = fresh.length > 0 ? fresh : members;
        return {
          key: group.spec.key,
          files: renderImage({
            spec: group.spec,
            templates: group.spec.templates.map((path) => templates.get(path)!),
            previousProfiles: recorded,
            profiles: members.map((m) => m.ref),
            ...(options.keepProfile ? { keepProfile: options.keepProfile } : {}),
            ...(previous !== undefined ? { previousManifest: previous } : {}),
          }),
          subject: subjectOf(claimed.map((m) => m.ref.name), previous === undefined),
          trailers: { profiles: claimed.map((m) => m.ref), trigger: options.trigger, messageIds: claimed.flatMap((m) => (m.messageId ? [m.messageId] : [])) },
        };
      }), { expected: groups.size });
    },
  });
  const committed = new Set(result.commits.map((commit) => commit.key));
  // Logged once here, not in prepare (which runs again after a lost race); parse rejections were logged above.
  outcomes.forEach((outcome, index) => {
    if (outcome.outcome === 'unchanged' && outcome.key && committed.has(outcome.key)) outcome.outcome = 'committed';
    if (outcome.outcome === 'skipped') log.warn({ profile: outcome.profile, imageKey: outcome.key, reason: outcome.reason }, 'image skipped');
    else if (outcome.outcome === 'rejected' && parsed[index]!.facts) log.warn({ profile: outcome.profile, reason: outcome.reason }, 'profile rejected');
  });
  for (const { key, change } of result.commits) {
    log.info({ imageKey: key, profiles: change.trailers.profiles.map((p) => p.name), trigger: options.trigger }, 'image change committed');
  }
  const requestBranches = 'view' in result ? (result.view as RequestBranchesView) : undefined;
  return { outcomes, commits: result.commits.length, head: result.head, pushed: result.pushed, attempts: result.attempts, ...(requestBranches ? { requestBranches } : {}) };
}

function subjectOf(names: string[], isNew: boolean): string {
  const [first] = [...names].sort();
  const others = names.length - 1;
  const who = others > 0 ? `${first} and ${others} other profile${others > 1 ? 's' : ''}` : first;
  return isNew ? `new image from ${who}` : `rebuild for ${who}`;
}

function* mapLazily<T, R>(items: Iterable<T>, map: (item: T) => R): Generator<R> {
  for (const item of items) yield map(item);
}
