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
