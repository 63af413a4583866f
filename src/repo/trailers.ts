import type { ImageChange, Trailers } from '../model.js';
import { VERSION } from '../version.js';

export function commitMessage(change: Pick<ImageChange, 'key' | 'subject' | 'trailers'>): string {
  return `images(${change.key}): ${change.subject}\n\n${formatTrailers(change.trailers)}`;
}

export function formatTrailers(trailers: Trailers): string {
  const lines: string[] = [];
  for (const profile of [...trailers.profiles].sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(`Profile: ${profile.name}`, `Profile-Digest: ${profile.digest}`);
  }
  lines.push(`Trigger: ${trailers.trigger}`);
  for (const id of trailers.messageIds) lines.push(`Message-Id: ${id}`);
  // The tool's version lives here, not in the rendered files: an upgrade alone changes no bytes.
  lines.push(`Packuilon-Version: ${trailers.version ?? VERSION}`);
  return `${lines.join('\n')}\n`;
}

/** `Key: value` lines as git prints them with %(trailers:only,unfold). */
export function parseTrailerLines(text: string): { key: string; value: string }[] {
  return text
    .split('\n')
    .map((line) => /^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ key: match[1]!, value: match[2]! }));
}
