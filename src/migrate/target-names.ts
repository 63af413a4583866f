import { posix } from 'node:path';

/** Paths in the target, one source each: a second file with the same name gets `-2`, `-3`… */
export class TargetNames {
  private readonly owners = new Map<string, string>();

  constructor(reserved: string[] = []) {
    for (const path of reserved) this.owners.set(path, '');
  }

  claim(wanted: string, source: string): string {
    const { dir, name, ext } = posix.parse(wanted);
    for (let n = 1; ; n++) {
      const path = n === 1 ? wanted : posix.join(dir, `${name}-${n}${ext}`);
      const owner = this.owners.get(path);
      if (owner === source) return path;
      if (owner === undefined) {
        this.owners.set(path, source);
        return path;
      }
    }
  }
}
