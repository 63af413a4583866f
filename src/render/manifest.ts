import type { ImageSpec, ProfileRef } from '../model.js';
import { stableJson } from './json.js';

export interface Manifest {
  image_key: string;
  image_name: string;
  source_key: string;
  source_image: string;
  metadata: Record<string, string>;
  /** Every profile behind this image and the digest it had at its last change. */
  profiles: Record<string, string>;
  templates: { template: string; digest: string; files: string[] }[];
  generator: string;
}

export const MANIFEST_FILE = 'image.json';

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

export function renderManifest(
  spec: ImageSpec,
  profiles: Record<string, string>,
  templates: Manifest['templates'],
  generator: string,
): string {
  const manifest: Manifest = {
    image_key: spec.key,
    image_name: spec.name,
    source_key: spec.sourceKey,
    source_image: spec.sourceImage,
    metadata: spec.metadata,
    profiles,
    templates,
    generator,
  };
  return stableJson(manifest);
}

export function mergeProfiles(previous: Record<string, string>, changed: ProfileRef[]): Record<string, string> {
  const merged = { ...previous };
  for (const { name, digest } of changed) merged[name] = digest;
  return merged;
}
