import { parseSourceImages } from '../resolve/maps.js';
import { SourceImages } from '../resolve/schema.js';
import { ConfigError } from '../shared/errors.js';
import { formatIssues } from '../shared/zod.js';
import type { MigrateReport } from './report.js';

// `<os><osversion>-<arch>`: letters, then a version that starts with a digit
// (`7x`, `9.2`), then the architecture. The seed's example entry
// `osos_version-archetype` has no version and is dropped.
const SOURCE_KEY = /^[a-z][a-z_]*?\d[a-z0-9._]*-[a-z0-9_]+$/i;
// Glance image IDs are UUIDs.
const IMAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Entries = Record<string, string | Record<string, string>>;

/**
 * The source-image map in the shape it came (flat, or the seed's nested
 * `os → <osversion>-<arch> → ID`; Packuilon reads both), without the entries
 * no profile could use. Unchanged bytes when every entry is fine.
 */
export function planSourceImages(file: string, text: string, report: Pick<MigrateReport, 'notMapped'>): string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: cannot parse: ${(error as Error).message}`);
  }
  const parsed = SourceImages.safeParse(data);
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));

  let dropped = 0;
  const keep = (key: string, id: string, shown: string): boolean => {
    const problem = !SOURCE_KEY.test(key) ? 'key is not <os><osversion>-<arch>, e.g. sl7x-x86_64' : !IMAGE_ID.test(id) ? 'not an image ID (Glance IDs are UUIDs)' : undefined;
    if (problem) {
      dropped++;
      report.notMapped.push({ item: `source image ${shown}: ${JSON.stringify(id)}`, reason: `${problem}; left out` });
    }
    return problem === undefined;
  };
  const kept: Entries = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (typeof value === 'string') {
      if (keep(key, value, key)) kept[key] = value;
      continue;
    }
    const versions = Object.fromEntries(Object.entries(value).filter(([versionArch, id]) => keep(`${key}${versionArch}`, id, `${key} → ${versionArch}`)));
    if (Object.keys(versions).length > 0) kept[key] = versions;
  }
  const output = dropped === 0 ? text : `${JSON.stringify(kept, null, 4)}\n`;
  parseSourceImages(file, output); // what Packuilon will load must load
  return output;
}
