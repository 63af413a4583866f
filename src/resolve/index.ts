import { basename } from 'node:path';
import type { ImageSpec, ProfileFacts } from '../model.js';
import { ConfigError, InputError, quote } from '../shared/errors.js';
import { SAFE_NAME } from './profile.js';
import type { SourceImageMap, TemplateMap } from './maps.js';

export { parseProfile, SAFE_NAME } from './profile.js';
export { parseTemplateMap, parseSourceImages, type TemplateMap, type SourceImageMap } from './maps.js';

export interface Site {
  imageNameFormat: string;
  templateMap: TemplateMap;
  sourceImages: SourceImageMap;
}

export type Resolution = { kind: 'image'; spec: ImageSpec } | { kind: 'skipped'; key: string; reason: string };

export function imageKeyOf(facts: ProfileFacts): string {
  return `${facts.personality}-${facts.os}${facts.osVersion}-${facts.arch}`;
}

export function sourceKeyOf(facts: ProfileFacts): string {
  return `${facts.os}${facts.osVersion}-${facts.arch}`;
}

export function metadataOf(facts: ProfileFacts): Record<string, string> {
  const metadata: Record<string, string> = {
    AQ_ARCHETYPE: facts.archetype,
    AQ_OS: facts.os,
    AQ_OSVERSION: facts.osVersion,
    AQ_PERSONALITY: facts.personality,
  };
  if (facts.branch.type === 'domain') metadata.AQ_DOMAIN = facts.branch.name;
  else {
    // STFC's in-VM tooling reads an empty AQ_DOMAIN as "use AQ_SANDBOX".
    metadata.AQ_DOMAIN = '';
    metadata.AQ_SANDBOX = `${facts.branch.author}/${facts.branch.name}`;
  }
  return metadata;
}

const PLACEHOLDERS = ['personality', 'os', 'os_version', 'arch', 'archetype', 'domain', 'key'] as const;

/** Image names reach shell-local commands in legacy templates ("rename-old-images.sh $NAME"). */
const SAFE_IMAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

/**
 * Check the configured format once, so a mistake is a config error and not a
 * per-profile one: unknown placeholders, and text around them that no profile
 * could make safe (a `/`, a space, a leading `-`, too long with one-character
 * values). What a profile's own values bring is that profile's problem.
 */
export function checkImageNameFormat(format: string, where = 'image_name'): void {
  for (const match of format.matchAll(/\{([^}]*)\}/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(match[1]!)) {
      throw new ConfigError(`${where}: unknown placeholder {${match[1]}}; expected one of ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
    }
  }
  const sample = format.replace(/\{[a-z_]+\}/g, 'a');
  if (!SAFE_IMAGE_NAME.test(sample)) {
    throw new ConfigError(`${where}: ${quote(format)} gives unsafe image names (like ${quote(sample)}): letters, digits and _ . + - only, not starting with . + -, at most 128 characters`);
  }
}

export function imageNameOf(format: string, facts: ProfileFacts, profile: string): string {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    personality: facts.personality,
    os: facts.os,
    os_version: facts.osVersion,
    arch: facts.arch,
    archetype: facts.archetype,
    domain: facts.branch.type === 'domain' ? facts.branch.name : `${facts.branch.author}-${facts.branch.name}`,
    key: imageKeyOf(facts),
  };
  const name = format.replace(/\{([a-z_]+)\}/g, (_, placeholder: keyof typeof values) => values[placeholder]);
  if (!SAFE_IMAGE_NAME.test(name)) {
    throw new InputError(profile, 'image_name', `${quote(name)} is not a safe image name`);
  }
  return name;
}

/** Output base name of a template inside images/<key>/: `managed.json` → `managed`. */
export function templateNameOf(path: string): string {
  return basename(path).replace(/\.pkr\.hcl$|\.json$/i, '');
}

export function resolveImage(facts: ProfileFacts, profile: string, site: Site): Resolution {
  const key = imageKeyOf(facts);
  const sourceKey = sourceKeyOf(facts);
  const sourceImage = site.sourceImages.get(sourceKey);
  if (!sourceImage) return { kind: 'skipped', key, reason: `no source image for ${sourceKey}` };
  const templates = site.templateMap[key] ?? site.templateMap.DEFAULT;
  if (!templates || templates.length === 0) return { kind: 'skipped', key, reason: `no templates for ${key} and no DEFAULT entry` };
  const names = new Set<string>();
  for (const template of templates) {
    const name = templateNameOf(template);
    if (!SAFE_NAME.test(name) || name === 'image') {
      throw new ConfigError(`template map: ${key}: template file name ${JSON.stringify(basename(template))} is not usable (letters, digits, _ . -; not "image")`);
    }
    if (names.has(name)) throw new ConfigError(`template map: ${key}: two templates named ${name}`);
    names.add(name);
  }
  return {
    kind: 'image',
    spec: {
      key,
      name: imageNameOf(site.imageNameFormat, facts, profile),
      metadata: metadataOf(facts),
      sourceKey,
      sourceImage,
      templates,
      facts,
    },
  };
}
