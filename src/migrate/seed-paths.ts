import { posix } from 'node:path';

/** Where the seed lived: its files name each other by absolute paths under it. */
export const SEED_HOME = '/etc/packer-utils';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Paths as the seed wrote them, seen from the directory being migrated: both
 * `/etc/packer-utils/x` and `<DIR>/x` mean `x` inside DIR, so a copy of the
 * seed migrates the same as the original.
 */
export class SeedPaths {
  private readonly prefixes: string[];

  constructor(readonly dir: string) {
    // Longest first, so `/etc/packer-utils-old` is not read as `/etc/packer-utils` + `-old`.
    this.prefixes = [...new Set([posix.normalize(dir).replace(/\/+$/, ''), SEED_HOME])].sort((a, b) => b.length - a.length);
  }

  /** The DIR-relative path (`templates/managed.json`), or undefined for a path outside DIR. */
  inside(path: string): string | undefined {
    const absolute = posix.normalize(posix.isAbsolute(path) ? path : posix.join(this.dir, path));
    for (const prefix of this.prefixes) {
      if (absolute.startsWith(`${prefix}/`)) return absolute.slice(prefix.length + 1);
    }
    return undefined;
  }

  /** Where a seed path is on this machine. */
  local(path: string): string {
    const relative = this.inside(path);
    return relative === undefined ? path : posix.join(this.dir, relative);
  }

  /** Every DIR-prefixed path in a text (a template), as written there. */
  references(text: string): string[] {
    return [...new Set([...text.matchAll(this.pattern())].map((match) => trimEnd(match[0])))];
  }

  /** The text with each DIR-prefixed path for which `replace` returns a string replaced by it; all other bytes kept. */
  rewrite(text: string, replace: (written: string) => string | undefined): string {
    return text.replace(this.pattern(), (found) => {
      const path = trimEnd(found);
      return (replace(path) ?? path) + found.slice(path.length);
    });
  }

  private pattern(): RegExp {
    // Not inside a longer path (`/srv/etc/packer-utils/…`).
    return new RegExp(`(?<![\\w./-])(?:${this.prefixes.map(escape).join('|')})/[\\w.@%+/-]+`, 'g');
  }
}

/** A sentence's full stop is not part of the path. */
function trimEnd(path: string): string {
  return path.replace(/\.+$/, '');
}
