import type { ImageKey } from '../model.js';
import type { FieldChange } from './profile-diff.js';
import { withMarker } from './marker.js';

/** What a request tells its reviewer: everything against the default branch. */
export interface RequestFacts {
  key: ImageKey;
  defaultBranch: string;
  trigger: string;
  image: Side<string>;
  sourceImage: Side<string>;
  metadata: Side<Record<string, string>>;
  templates: Side<{ template: string; digest: string }[]>;
  profiles: { name: string; before?: string; after: string }[];
  files: string[];
  /** Per changed profile: its field changes, or null when no copy of the default branch's version was kept. */
  why: { name: string; changes: FieldChange[] | null; isNew: boolean }[];
  /** A person committed on the branch: the tool stopped updating it. */
  handsOff?: string;
}

interface Side<T> {
  before?: T;
  after: T;
}

const MAX_WHY_LINES = 50;
const MAX_VALUE = 80;

/** The request's description (Markdown), with the hidden marker. Every value from a profile is escaped. */
export function renderDescription(facts: RequestFacts): string {
  const lines: string[] = [];
  lines.push(`Packuilon re-rendered image ${code(facts.key)} (${code(facts.image.after)}), against ${code(facts.defaultBranch)}. Trigger: ${code(facts.trigger)}.`, '');
  if (facts.handsOff) {
    lines.push(`> **Packuilon no longer updates this branch**: commit ${code(facts.handsOff.slice(0, 12))} was made by hand. Close this request and delete the branch to hand it back.`, '');
  }
  lines.push('| | before | after |', '|---|---|---|');
  lines.push(row('image name', facts.image.before, facts.image.after));
  lines.push(row('source image', facts.sourceImage.before, facts.sourceImage.after));
  const metaKeys = [...new Set([...Object.keys(facts.metadata.before ?? {}), ...Object.keys(facts.metadata.after)])].sort();
  for (const key of metaKeys) lines.push(row(key, facts.metadata.before?.[key], facts.metadata.after[key]));
  const templateNames = [...new Set([...(facts.templates.before ?? []), ...facts.templates.after].map((t) => t.template))].sort();
  for (const name of templateNames) {
    const digest = (side?: { template: string; digest: string }[]) => side?.find((t) => t.template === name)?.digest.slice(0, 19);
    lines.push(row(`template ${name}`, digest(facts.templates.before), digest(facts.templates.after)));
  }
  lines.push('', '**Profiles**', '');
  for (const profile of facts.profiles) {
    lines.push(`- ${code(profile.name)}: ${profile.before && profile.before !== profile.after ? `${code(short(profile.before))} → ` : ''}${code(short(profile.after))}`);
  }
  lines.push('', '**Build files**', '', ...facts.files.map((file) => `- ${code(file)}`));
  lines.push('', '**Why: the profile fields that changed**', '');
  let budget = MAX_WHY_LINES;
  for (const entry of facts.why) {
    if (entry.isNew) {
      lines.push(`- ${code(entry.name)}: new in this image`);
      continue;
    }
    if (entry.changes === null) {
      lines.push(`- ${code(entry.name)}: no copy of the version ${code(facts.defaultBranch)} records was kept, so its fields cannot be compared`);
      continue;
    }
    if (entry.changes.length === 0) {
      lines.push(`- ${code(entry.name)}: no field changed`);
      continue;
    }
    lines.push(`- ${code(entry.name)}:`);
    const shown = entry.changes.slice(0, Math.max(0, budget));
    for (const change of shown) lines.push(`  - ${code(change.path)}: ${value(change.before)} → ${value(change.after)}`);
    budget -= shown.length;
    if (entry.changes.length > shown.length) lines.push(`  - …and ${entry.changes.length - shown.length} more`);
  }
  return withMarker(facts.key, lines.join('\n'));
}

function row(label: string, before: string | undefined, after: string | undefined): string {
  const changed = before !== after;
  return `| ${escape(label)} | ${before === undefined ? '—' : code(before, true)} | ${after === undefined ? '—' : code(after, true)}${changed && before !== undefined ? ' (changed)' : ''} |`;
}

function value(text: string | undefined): string {
  return text === undefined ? '(absent)' : code(text);
}

function short(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}

/**
 * Inline code that no value can break out of: a code span opened with more
 * backticks than the value holds (inside one, Markdown and HTML are literal),
 * newlines and control characters shown, long values cut. In a table cell a
 * pipe ends the cell even inside code, so there it is escaped (GFM's rule).
 */
export function code(text: string, inTable = false): string {
  let flat = text.replace(/\r?\n/g, '⏎').replace(/[\u0000-\u001f\u007f]/g, '�');
  if (flat.length > MAX_VALUE) flat = `${flat.slice(0, MAX_VALUE)}…`;
  if (inTable) flat = flat.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || !flat.trim() ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>&~]/g, (c) => `\\${c}`);
}
