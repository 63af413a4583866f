import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import '../shared/zod.js';
import { MANIFEST_FILE, profilesOfManifest } from '../render/index.js';
import { listImageFiles, readInputIds, viewOf, type Git } from '../repo/index.js';
import { sha256 } from '../shared/digest.js';
import { writeFileAtomic } from '../shared/fs.js';

export const DEPARTED_FILE = 'departed-profiles.txt';

/**
 * Profiles this detector saw leave Aquilon's index (in its state, then gone
 * from the index), one name a line in state_dir. Only what this detector saw
 * leave counts: a profile it never knew (another detector's, a skeleton of
 * `submit`) is never dropped. A name that comes back is forgotten.
 */
export async function readDeparted(stateDir: string): Promise<Set<string>> {
  const text = await readFile(join(stateDir, DEPARTED_FILE), 'utf8').catch(() => '');
  return new Set(text.split('\n').filter(Boolean));
}

export async function updateDeparted(stateDir: string, departed: Set<string>, options: { left: Iterable<string>; listed: ReadonlySet<string> }): Promise<void> {
  const before = departed.size;
  let changed = false;
  for (const name of options.left) departed.add(name);
  for (const name of [...departed]) if (options.listed.has(name)) changed = departed.delete(name) || changed;
  if (changed || departed.size !== before) await writeFileAtomic(join(stateDir, DEPARTED_FILE), [...departed].sort().map((name) => `${name}\n`).join(''));
}

const OrphansRecord = z.object({ images_tree: z.string(), departed: z.string(), orphaned: z.array(z.string()) });
export const ORPHANS_FILE = 'orphaned-images.json';

/**
 * Images every profile of which has left the index: reported, never deleted
 * (retiring an image is a reviewed `git rm -r images/<key>`). Nothing to read
 * while nothing has left; the manifests are read only when the images/ tree or
 * the departed profiles moved since the last pass (the answer is cached in state_dir).
 */
export async function findOrphanedImages(options: { git: Git; commit: string | null; departed: ReadonlySet<string>; stateDir: string }): Promise<string[]> {
  const { git, commit, departed } = options;
  if (!commit || departed.size === 0) return [];
  const digest = sha256([...departed].sort().join('\n'));
  const tree = (await readInputIds(git, commit, ['images'])).get('images');
  if (!tree) return [];
  const file = join(options.stateDir, ORPHANS_FILE);
  const cached = await readFile(file, 'utf8').then((text) => OrphansRecord.safeParse(JSON.parse(text)), () => undefined).catch(() => undefined);
  if (cached?.success && cached.data.images_tree === tree && cached.data.departed === digest) return cached.data.orphaned;
  const paths = [...(await listImageFiles(git, commit)).keys()].filter((path) => /^images\/[^/]+\/image\.json$/.test(path));
  const manifests = await viewOf(git, commit).readFiles(paths);
  const orphaned: string[] = [];
  for (const path of paths.sort()) {
    const names = Object.keys(profilesOfManifest(manifests.get(path)));
    if (names.length > 0 && names.every((name) => departed.has(name))) orphaned.push(path.slice('images/'.length, -`/${MANIFEST_FILE}`.length));
  }
  await writeFileAtomic(file, `${JSON.stringify({ images_tree: tree, departed: digest, orphaned })}\n`);
  return orphaned;
}
