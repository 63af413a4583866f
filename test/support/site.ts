import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface ProfileFields {
  personality?: string;
  archetype?: string;
  os?: string;
  osVersion?: string;
  arch?: string;
  hostname?: string;
  /** system.network.domainname: with hostname, the FQDN Aquilon names the profile file after. */
  domainname?: string;
  domain?: string;
  sandbox?: { name: string; author: string };
  /** Anything else, to vary the bytes without changing the image. */
  extra?: unknown;
}

export function profileDocument(fields: ProfileFields = {}): Record<string, unknown> {
  return {
    metadata: {
      template: {
        branch: fields.sandbox ? { type: 'sandbox', ...fields.sandbox } : { type: 'domain', name: fields.domain ?? 'prod' },
      },
    },
    system: {
      archetype: { name: fields.archetype ?? 'ral-tier1' },
      personality: { name: fields.personality ?? 'nubesvms' },
      os: { architecture: fields.arch ?? 'x86_64', distribution: { name: fields.os ?? 'sl' }, version: { name: fields.osVersion ?? '7x' } },
      network: { hostname: fields.hostname ?? 'host01', ...(fields.domainname === undefined ? {} : { domainname: fields.domainname }) },
      extra: fields.extra ?? null,
    },
  };
}

export function profileText(fields: ProfileFields = {}): string {
  return `${JSON.stringify(profileDocument(fields), null, 2)}\n`;
}

export const LEGACY_TEMPLATE = `{
  "builders": [
    {
      "type": "null",
      "communicator": "none",
      "name": "$NAME"
    }
  ],
  "provisioners": [
    { "type": "shell-local", "inline": ["echo building $NAME from $IMAGE"] }
  ],
  "post-processors": [
    { "type": "manifest", "output": "packer-manifest.json", "custom_data": { "image_name": "$NAME AQ", "source_image": "$IMAGE", "meta": "x" } }
  ],
  "variables": {},
  "_instance_metadata": { $METADATA }
}
`;

/** An image repo with templates and maps, and a packuilon.yaml reading profiles from `profilesDir`. */
export function writeSite(repo: string, options: { profilesDir: string; stateDir: string; remote?: boolean; match?: string; sources?: Record<string, string> }): string {
  mkdirSync(join(repo, 'templates'), { recursive: true });
  mkdirSync(join(repo, 'images'), { recursive: true });
  writeFileSync(join(repo, 'templates', 'managed.json'), LEGACY_TEMPLATE);
  writeFileSync(join(repo, 'templates', 'template-map.json'), JSON.stringify({ DEFAULT: ['templates/managed.json'] }, null, 2));
  writeFileSync(
    join(repo, 'images', 'source-images.json'),
    JSON.stringify(options.sources ?? { 'sl7x-x86_64': '0b10e583-9e13-4878-9116-f4002846fa73', 'rocky8x-x86_64': '7eb100a3-680b-4544-99cc-950b8c4f6c74' }, null, 2),
  );
  const config = {
    aquilon: { index_dir: options.profilesDir, match: options.match ?? '' },
    state_dir: options.stateDir,
    repo: { path: '.', branch: 'main', ...(options.remote ? { remote: 'origin' } : {}) },
  };
  const file = join(repo, 'packuilon.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/** Write profiles and a profiles-info.xml listing them with the given mtimes. */
export function writeProfiles(dir: string, profiles: Record<string, { text: string; mtime: number }>): void {
  mkdirSync(dir, { recursive: true });
  const lines = ["<?xml version='1.0' encoding='utf-8'?>", '<profiles>'];
  for (const [name, { text, mtime }] of Object.entries(profiles)) {
    writeFileSync(join(dir, name), text);
    lines.push(`<profile mtime='${mtime}'>${name}</profile>`);
  }
  lines.push('</profiles>', '');
  writeFileSync(join(dir, 'profiles-info.xml'), lines.join('\n'));
}
