import type { ProfileFacts } from '../model.js';
import { InputError, quote } from '../shared/errors.js';
import type { core } from 'zod/mini';
import '../shared/zod.js';
import { ProfileDocument } from './schema.js';

/** Key parts end up in paths, image names and shell commands: a conservative charset. */
export const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Parse a profile's text into the facts we use. Throws InputError naming the profile and field.
 * `alreadyParsed`: JSON.parse(text) when the caller has it (undefined: parse here).
 */
export function parseProfile(name: string, text: string, alreadyParsed?: unknown): ProfileFacts {
  let document: unknown = alreadyParsed;
  if (document === undefined) {
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new InputError(name, '', `not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = ProfileDocument.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(name, describePath(issue), /received undefined$/.test(issue.message) ? 'missing' : issue.message);
  }
  const { system, metadata } = parsed.data;
  const branch = metadata.template.branch;
  const facts: ProfileFacts = {
    personality: keyPart(name, 'system.personality.name', system.personality.name),
    archetype: metadataValue(name, 'system.archetype.name', system.archetype.name),
    os: keyPart(name, 'system.os.distribution.name', system.os.distribution.name),
    osVersion: keyPart(name, 'system.os.version.name', system.os.version.name),
    arch: keyPart(name, 'system.os.architecture', system.os.architecture),
    branch:
      branch.type === 'domain'
        ? { type: 'domain', name: metadataValue(name, 'metadata.template.branch.name', branch.name) }
        : {
            type: 'sandbox',
            name: metadataValue(name, 'metadata.template.branch.name', branch.name),
            author: metadataValue(name, 'metadata.template.branch.author', branch.author),
          },
  };
  const hostname = system.network?.hostname;
  if (hostname !== undefined) facts.hostname = metadataValue(name, 'system.network.hostname', hostname);
  return facts;
}

function describePath(issue: core.$ZodIssue): string {
  // A union failure on the branch is clearer as "type: expected domain or sandbox".
  return issue.path.map(String).join('.');
}

function keyPart(profile: string, field: string, value: string): string {
  if (!SAFE_NAME.test(value)) {
    throw new InputError(profile, field, `${quote(value)} is not a safe name (letters, digits, _ . -; at most 64)`);
  }
  return value;
}

/**
 * Metadata values may hold anything but Packer's template delimiters and
 * control characters: C0 (newline and tab too: a value lands in instance
 * metadata and in shell-local commands on one line), DEL and C1.
 */
function metadataValue(profile: string, field: string, value: string): string {
  if (value.length === 0 || value.length > 256) throw new InputError(profile, field, 'expected 1 to 256 characters');
  if (value.includes('{{') || value.includes('}}')) throw new InputError(profile, field, 'contains Packer template delimiters {{ }}');
  const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.exec(value);
  if (control) throw new InputError(profile, field, `contains a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}): ${quote(value)}`);
  return value;
}
