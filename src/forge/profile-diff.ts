/** One changed field of a profile, as a dotted path (`system.network.interfaces.eth0.ip`). */
export interface FieldChange {
  path: string;
  before?: string;
  after?: string;
}

/**
 * The leaves of two JSON documents that differ, sorted by path: what a
 * reviewer needs to see to know why an image is rebuilt. Arrays are indexed
 * (`a.0.b`); a value is its JSON text.
 */
export function diffProfiles(before: unknown, after: unknown): FieldChange[] {
  const left = flatten(before);
  const right = flatten(after);
  const paths = [...new Set([...left.keys(), ...right.keys()])].sort();
  const changes: FieldChange[] = [];
  for (const path of paths) {
    const a = left.get(path);
    const b = right.get(path);
    if (a === b) continue;
    changes.push({ path, ...(a !== undefined ? { before: a } : {}), ...(b !== undefined ? { after: b } : {}) });
  }
  return changes;
}

function flatten(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
    if (entries.length === 0) into.set(prefix || '(root)', Array.isArray(value) ? '[]' : '{}');
    for (const [key, item] of entries) flatten(item, prefix ? `${prefix}.${key}` : key, into);
    return into;
  }
  into.set(prefix || '(root)', JSON.stringify(value));
  return into;
}
