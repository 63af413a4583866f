import type { ImageSpec } from '../model.js';
import { ConfigError, InternalError } from '../shared/errors.js';

const BLANKS = /\$(METADATA|NAME|IMAGE)(?![A-Za-z0-9_])/g;

export function isLegacyTemplate(text: string): boolean {
  return new RegExp(BLANKS.source).test(text);
}

/** The contents of a JSON string literal, without its quotes. */
function inString(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/**
 * Fill the seed's `$NAME`, `$IMAGE`, `$METADATA` blanks. One pass, so a value
 * that itself contains `$NAME` is never filled again (the seed filled in turn).
 */
export function renderLegacyTemplate(templatePath: string, text: string, spec: ImageSpec): string {
  const metadata = Object.keys(spec.metadata)
    .sort()
    .map((key) => `${JSON.stringify(key)}: ${JSON.stringify(spec.metadata[key])}`)
    .join(', ');
  checkMetadataObjects(templatePath, text, Object.keys(spec.metadata));
  const rendered = text.replace(BLANKS, (_, blank: string) =>
    blank === 'METADATA' ? metadata : blank === 'NAME' ? inString(spec.name) : inString(spec.sourceImage),
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(rendered);
  } catch (error) {
    throw new ConfigError(`template ${templatePath}: the rendered build file is not JSON (${(error as Error).message}); $METADATA must stand inside braces: "instance_metadata": { $METADATA }`);
  }
  if (text.includes('$METADATA')) assertMetadataSurvived(templatePath, parsed, spec.metadata);
  return rendered;
}

/** The keys `$METADATA` may fill (resolve's metadataOf); a template must leave them to it. */
const METADATA_KEYS = ['AQ_ARCHETYPE', 'AQ_DOMAIN', 'AQ_OS', 'AQ_OSVERSION', 'AQ_PERSONALITY', 'AQ_SANDBOX'];
const SENTINEL = '\u0000packuilon-metadata';

/**
 * The objects `$METADATA` stands in must not set a metadata key themselves:
 * JSON's last key wins, so the template would silently override the profile
 * (or, checked after rendering, look like a bug). Each blank becomes a
 * sentinel key, and every object holding one is checked, wherever it is.
 */
function checkMetadataObjects(templatePath: string, text: string, keys: string[]): void {
  if (!text.includes('$METADATA')) return;
  const forbidden = new Set([...METADATA_KEYS, ...keys]);
  let count = 0;
  const probe = text.replace(BLANKS, (_, blank: string) => (blank === 'METADATA' ? `${JSON.stringify(`${SENTINEL}${count++}`)}: 0` : 'x'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(probe);
  } catch {
    return; // the render's own parse reports it, with the hint
  }
  const visit = (value: unknown, path: string): void => {
    if (!value || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach((child, index) => visit(child, `${path}[${index}]`));
    const record = value as Record<string, unknown>;
    const names = Object.keys(record);
    if (names.some((name) => name.startsWith(SENTINEL))) {
      const clash = names.find((name) => forbidden.has(name));
      if (clash) {
        throw new ConfigError(`template ${templatePath}: ${path || '(top)'} sets ${clash} next to $METADATA, which fills it; remove ${JSON.stringify(clash)} from the template`);
      }
    }
    for (const name of names) if (!name.startsWith(SENTINEL)) visit(record[name], path ? `${path}.${name}` : name);
  };
  visit(parsed, '');
}

/** Every metadata value must come back out of the parsed file exactly as it went in. */
function assertMetadataSurvived(templatePath: string, parsed: unknown, metadata: Record<string, string>): void {
  const found = findObjectWithKey(parsed, 'AQ_PERSONALITY');
  if (!found) throw new InternalError(`template ${templatePath}: metadata not found in the rendered build file`);
  for (const [key, value] of Object.entries(metadata)) {
    if (found[key] !== value) throw new InternalError(`template ${templatePath}: metadata ${key} did not survive rendering`);
  }
}

function findObjectWithKey(value: unknown, key: string): Record<string, unknown> | undefined {
  if (!value || typeof value !== 'object') return undefined;
  if (!Array.isArray(value) && key in value) return value as Record<string, unknown>;
  for (const child of Object.values(value)) {
    const found = findObjectWithKey(child, key);
    if (found) return found;
  }
  return undefined;
}
