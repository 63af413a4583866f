import { isDeepStrictEqual } from 'node:util';
import * as z from 'zod/mini';
import '../shared/zod.js';
import type { Branch, ImageSpec, ProfileFacts, ProfileRef } from '../model.js';
import { stableJson } from './json.js';

/** The profile facts resolve needs, as the manifest records them (snake_case, like the rest of it). */
export interface ManifestFacts {
  personality: string;
  archetype: string;
  os: string;
  os_version: string;
  arch: string;
  branch: Branch;
}

export interface Manifest {
  image_key: string;
  image_name: string;
  source_key: string;
  source_image: string;
  metadata: Record<string, string>;
  /** What `rerender` resolves the image from when no profile is at hand. */
  facts?: ManifestFacts;
  /** Every profile behind this image and the digest it had at its last change. */
  profiles: Record<string, string>;
  templates: { template: string; digest: string; files: string[] }[];
}

export const MANIFEST_FILE = 'image.json';

// Lenient: manifests written by earlier releases (with `generator`, without `facts`) must still read.
const ManifestDocument = z.looseObject({
  image_key: z.string(),
  image_name: z.string(),
  source_key: z.string(),
  source_image: z.string(),
  metadata: z.record(z.string(), z.string()),
  facts: z.optional(
    z.object({
      personality: z.string(),
      archetype: z.string(),
      os: z.string(),
      os_version: z.string(),
      arch: z.string(),
      branch: z.union([
        z.object({ type: z.literal('domain'), name: z.string() }),
        z.object({ type: z.literal('sandbox'), name: z.string(), author: z.string() }),
      ]),
    }),
  ),
  profiles: z.record(z.string(), z.string()),
  templates: z.array(z.object({ template: z.string(), digest: z.string(), files: z.array(z.string()) })),
});

/** A committed manifest, checked; `problem` says why it cannot be used. */
export function parseManifest(text: string): { manifest: Manifest } | { problem: string } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { problem: `not valid JSON: ${(error as Error).message.split('\n')[0]!.slice(0, 80)}` };
  }
  const parsed = ManifestDocument.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { problem: `${issue.path.map(String).join('.') || '(top)'}: ${issue.message}` };
  }
  return { manifest: parsed.data };
}

/**
 * The facts behind a manifest: recorded ones, else (an earlier release's
 * manifest) derived from its metadata and key; undefined when they cannot be.
 */
export function factsOfManifest(manifest: Manifest): ProfileFacts | { problem: string } {
  const recorded = manifest.facts;
  if (recorded) {
    return { personality: recorded.personality, archetype: recorded.archetype, os: recorded.os, osVersion: recorded.os_version, arch: recorded.arch, branch: recorded.branch };
  }
  const { AQ_PERSONALITY: personality, AQ_ARCHETYPE: archetype, AQ_OS: os, AQ_OSVERSION: osVersion, AQ_DOMAIN: domain, AQ_SANDBOX: sandbox } = manifest.metadata;
  if (!personality || !archetype || !os || !osVersion) return { problem: 'metadata lacks AQ_PERSONALITY, AQ_ARCHETYPE, AQ_OS or AQ_OSVERSION' };
  const prefix = `${os}${osVersion}-`;
  const arch = manifest.source_key.startsWith(prefix) ? manifest.source_key.slice(prefix.length) : '';
  if (!arch || manifest.image_key !== `${personality}-${prefix}${arch}`) return { problem: `source_key ${manifest.source_key} and image_key ${manifest.image_key} do not match the metadata` };
  let branch: Branch;
  if (domain) branch = { type: 'domain', name: domain };
  else {
    // `author/name`: an author or name holding a slash cannot be split back for sure.
    const parts = (sandbox ?? '').split('/');
    if (parts.length !== 2 || !parts[0] || !parts[1]) return { problem: `AQ_SANDBOX ${JSON.stringify(sandbox ?? '')} is not author/name` };
    branch = { type: 'sandbox', author: parts[0], name: parts[1] };
  }
  return { personality, archetype, os, osVersion, arch, branch };
}

/** The profiles an earlier manifest recorded; anything unreadable counts as none. */
export function profilesOfManifest(text: string | undefined): Record<string, string> {
  if (!text) return {};
  try {
    const profiles = (JSON.parse(text) as { profiles?: unknown }).profiles;
    if (!profiles || typeof profiles !== 'object' || Array.isArray(profiles)) return {};
    return Object.fromEntries(Object.entries(profiles).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

function manifestFacts(facts: ProfileFacts): ManifestFacts {
  const branch: Branch = facts.branch.type === 'domain' ? { type: 'domain', name: facts.branch.name } : { type: 'sandbox', name: facts.branch.name, author: facts.branch.author };
  return { personality: facts.personality, archetype: facts.archetype, os: facts.os, os_version: facts.osVersion, arch: facts.arch, branch };
}

export function renderManifest(spec: ImageSpec, profiles: Record<string, string>, templates: Manifest['templates']): string {
  const manifest: Manifest = {
    image_key: spec.key,
    image_name: spec.name,
    source_key: spec.sourceKey,
    source_image: spec.sourceImage,
    metadata: spec.metadata,
    ...(spec.facts ? { facts: manifestFacts(spec.facts) } : {}),
    profiles,
    templates,
  };
  return stableJson(manifest);
}

/**
 * An earlier release's manifest says the same as `rendered` when the only
 * differences are its `generator` field and the `facts` it did not record
 * (but which follow from its metadata): keeping its bytes then makes no
 * commit, so a tool upgrade rebuilds nothing.
 */
export function sameAsEarlierManifest(previous: string, rendered: string): boolean {
  if (previous === rendered) return true;
  let old: Record<string, unknown>;
  let now: Record<string, unknown>;
  try {
    old = JSON.parse(previous) as Record<string, unknown>;
    now = JSON.parse(rendered) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (!old || typeof old !== 'object' || Array.isArray(old)) return false;
  const { generator: _generator, ...rest } = old;
  void _generator;
  if (!('facts' in rest) && 'facts' in now) {
    const parsed = parseManifest(previous);
    if (!('manifest' in parsed)) return false;
    const derived = factsOfManifest(parsed.manifest);
    if ('problem' in derived || !isDeepStrictEqual(manifestFacts(derived), now.facts)) return false;
    delete now.facts;
  }
  return stableJson(rest) === stableJson(now);
}

export function mergeProfiles(previous: Record<string, string>, changed: ProfileRef[], keep?: (name: string) => boolean): Record<string, string> {
  const merged = keep ? Object.fromEntries(Object.entries(previous).filter(([name]) => keep(name))) : { ...previous };
  for (const { name, digest } of changed) merged[name] = digest;
  return merged;
}
