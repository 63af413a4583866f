import type { ImageKey } from '../model.js';

export const BRANCH_PREFIX = 'packuilon/';

export function branchOf(key: ImageKey): string {
  return `${BRANCH_PREFIX}${key}`;
}

const MARKER = /<!-- packuilon:image-key=([A-Za-z0-9._-]+) -->/;

/** The hidden line that marks a request as Packuilon's own (HTML comments do not render). */
export function withMarker(key: ImageKey, body: string): string {
  return `${body.trimEnd()}\n\n<!-- packuilon:image-key=${key} -->\n`;
}

/** The image key of one of our requests, or null for anyone else's. */
export function keyOfRequest(branch: string, body: string | null | undefined): ImageKey | null {
  const found = MARKER.exec(body ?? '');
  if (!found || branch !== branchOf(found[1]!)) return null;
  return found[1]!;
}
