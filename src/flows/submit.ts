import type { ProfileInput } from '../model.js';
import { parseProfile } from '../resolve/index.js';
import { profileDigest } from '../shared/digest.js';
import { InputError, UsageError } from '../shared/errors.js';

export interface SubmitFlags {
  personality: string;
  os: string;
  osVersion: string;
  arch: string;
  archetype: string;
  domain?: string;
  sandbox?: string;
}

/** The skeleton profile the seed's packuilon.py built from its flags, same shape and field order. */
export function skeletonProfile(flags: SubmitFlags): ProfileInput {
  if (flags.domain && flags.sandbox) throw new UsageError('--domain and --sandbox: give one, not both');
  let branch: Record<string, string>;
  if (flags.sandbox) {
    const [author, name, ...rest] = flags.sandbox.split('/');
    if (!author || !name || rest.length) throw new UsageError(`--sandbox: expected AUTHOR/NAME, received ${JSON.stringify(flags.sandbox)}`);
    branch = { author, name, type: 'sandbox' };
  } else {
    branch = { name: flags.domain ?? 'prod', type: 'domain' };
  }
  const profile = {
    metadata: { template: { branch } },
    system: {
      personality: { name: flags.personality },
      archetype: { name: flags.archetype },
      os: { architecture: flags.arch, distribution: { name: flags.os }, version: { name: flags.osVersion } },
    },
  };
  const text = JSON.stringify(profile);
  return { name: skeletonProfileName(flags.personality, flags.os, flags.osVersion, flags.arch), text, digest: profileDigest(Buffer.from(text), text) };
}

const FLAG_OF_FIELD: Record<string, string> = {
  'system.personality.name': '--personality',
  'system.archetype.name': '--archetype',
  'system.os.distribution.name': '--os',
  'system.os.version.name': '--os-version',
  'system.os.architecture': '--arch',
  'metadata.template.branch.name': '--domain',
  'metadata.template.branch.author': '--sandbox',
};

/**
 * The skeleton profile, checked as a profile would be: a value that a profile
 * could not carry is a bad flag (usage, exit 2), refused before anything is
 * committed or published, with the flag named.
 */
export function checkedSkeletonProfile(flags: SubmitFlags): ProfileInput {
  const profile = skeletonProfile(flags);
  try {
    parseProfile(profile.name, profile.text);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const flag = flags.sandbox && error.field.startsWith('metadata.template.branch') ? '--sandbox' : (FLAG_OF_FIELD[error.field] ?? error.field);
    throw new UsageError(`${flag}: ${error.problem}`);
  }
  return profile;
}

/** A skeleton profile has no host: it is named after its image, here and for the seed's packuilon.py messages. */
export function skeletonProfileName(personality: string, os: string, osVersion: string, arch: string): string {
  return `submit-${`${personality}-${os}${osVersion}-${arch}`.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`;
}
