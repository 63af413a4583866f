import type { ImageChange, ImageSpec, ProfileInput, ProfileRef, Trigger } from '../model.js';
import { MANIFEST_FILE, profilesOfManifest, renderImage } from '../render/index.js';
import { ensureCommits, type Git } from '../repo/index.js';
import { parseProfile, resolveImage } from '../resolve/index.js';
import { InputError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { GENERATOR } from '../version.js';
import type { LoadedSite } from './site.js';

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
}

interface ImageGroup {
  spec: ImageSpec;
  profiles: ProfileRef[];
  messageIds: string[];
}

/**
 * resolve → render → ensure commit, shared by detect, consume and submit.
 * Profiles come oldest first: within one image the newest profile's values win,
 * and every profile of the batch is recorded in one commit.
 */
export async function processProfiles(options: {
  inputs: { profile: ProfileInput; messageId?: string }[];
  trigger: Trigger;
  site: LoadedSite;
  repo: RepoTarget;
  log: Logger;
}): Promise<{ outcomes: ProfileOutcome[]; commits: number; head: string | null; pushed: boolean; attempts: number }> {
  const { site, log } = options;
  const outcomes: ProfileOutcome[] = [];
  const groups = new Map<string, ImageGroup>();
  for (const { profile, messageId } of options.inputs) {
    const base = { profile: profile.name, digest: profile.digest, ...(messageId ? { messageId } : {}) };
    try {
      const resolution = resolveImage(parseProfile(profile.name, profile.text), profile.name, site);
      if (resolution.kind === 'skipped') {
        log.warn({ profile: profile.name, imageKey: resolution.key, reason: resolution.reason }, 'image skipped');
        outcomes.push({ ...base, outcome: 'skipped', key: resolution.key, reason: resolution.reason });
        continue;
      }
      const { spec } = resolution;
      const group = groups.get(spec.key) ?? { spec, profiles: [], messageIds: [] };
      group.spec = spec;
      group.profiles = [...group.profiles.filter((p) => p.name !== profile.name), { name: profile.name, digest: profile.digest }];
      if (messageId) group.messageIds.push(messageId);
      groups.set(spec.key, group);
      outcomes.push({ ...base, outcome: 'unchanged', key: spec.key });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      log.warn({ profile: profile.name, field: error.field, reason: error.problem }, 'profile rejected');
      outcomes.push({ ...base, outcome: 'rejected', reason: error.message });
    }
  }
  if (groups.size === 0) return { outcomes, commits: 0, head: null, pushed: false, attempts: 0 };
  // Templates are read before any git work, so a missing template is a config error up front.
  const templates = new Map([...groups.values()].map((group) => [group.spec.key, group.spec.templates.map((path) => site.readTemplate(path))]));
  const result = await ensureCommits({
    ...options.repo,
    log,
    async prepare(base) {
      const manifests = await base.readFiles([...groups.keys()].map((key) => `${key}/${MANIFEST_FILE}`));
      return [...groups.values()].map((group): ImageChange => {
        const previousText = manifests.get(`${group.spec.key}/${MANIFEST_FILE}`);
        const files = renderImage({
          spec: group.spec,
          templates: templates.get(group.spec.key)!,
          previousProfiles: profilesOfManifest(previousText),
          profiles: group.profiles,
          generator: GENERATOR,
        });
        return {
          key: group.spec.key,
          files,
          subject: subjectOf(group, previousText === undefined),
          trailers: { profiles: group.profiles, trigger: options.trigger, messageIds: group.messageIds },
        };
      });
    },
  });
  const committed = new Set(result.commits.map((commit) => commit.key));
  for (const outcome of outcomes) {
    if (outcome.outcome === 'unchanged' && outcome.key && committed.has(outcome.key)) outcome.outcome = 'committed';
  }
  for (const { key, change } of result.commits) {
    log.info({ imageKey: key, profiles: change.trailers.profiles.map((p) => p.name), trigger: options.trigger }, 'image change committed');
  }
  return { outcomes, commits: result.commits.length, head: result.head, pushed: result.pushed, attempts: result.attempts };
}

function subjectOf(group: ImageGroup, isNew: boolean): string {
  const [first] = group.profiles.map((p) => p.name).sort();
  const others = group.profiles.length - 1;
  const who = others > 0 ? `${first} and ${others} other profile${others > 1 ? 's' : ''}` : first;
  return isNew ? `new image from ${who}` : `rebuild for ${who}`;
}
