import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import '../shared/zod.js';
import { MANIFEST_FILE, profilesOfManifest } from '../render/index.js';
import { listImageFiles, readInputIds, viewOf, type Git } from '../repo/index.js';
import { sha256 } from '../shared/digest.js';
import { writeFileAtomic } from '../shared/fs.js';

/** A skeleton profile (`submit`) is never in Aquilon's index: it stays behind its image. */
export const isSkeletonProfile = (name: string) => name.startsWith('submit-');

/** Which recorded profiles stay behind their image: those still in the index, and skeletons. */
export function keepProfilesIn(indexNames: ReadonlySet<string>): (name: string) => boolean {
  return (name) => indexNames.has(name) || isSkeletonProfile(name);
}

const OrphansRecord = z.object({ images_tree: z.string(), index: z.string(), orphaned: z.array(z.string()) });
export const ORPHANS_FILE = 'orphaned-images.json';

/**
 * Images none of whose profiles is left in the index: reported, never
 * deleted (retiring an image is a reviewed `git rm -r images/<key>`). The
 * manifests are read only when the images/ tree or the index's names moved
 * since the last pass (the answer is cached in state_dir).
 */
export async function findOrphanedImages(options: { git: Git; commit: string | null; indexNames: ReadonlySet<string>; stateDir: string }): Promise<string[]> {
  const { git, commit } = options;
  if (!commit) return [];
  const keep = keepProfilesIn(options.indexNames);
  const index = sha256([...options.indexNames].sort().join('\n'));
  const tree = (await readInputIds(git, commit, ['images'])).get('images');
  if (!tree) return [];
  const file = join(options.stateDir, ORPHANS_FILE);
  const cached = await readFile(file, 'utf8').then((text) => OrphansRecord.safeParse(JSON.parse(text)), () => undefined).catch(() => undefined);
  if (cached?.success && cached.data.images_tree === tree && cached.data.index === index) return cached.data.orphaned;
  const paths = [...(await listImageFiles(git, commit)).keys()].filter((path) => /^images\/[^/]+\/image\.json$/.test(path));
  const manifests = await viewOf(git, commit).readFiles(paths);
  const orphaned: string[] = [];
  for (const path of paths.sort()) {
    const names = Object.keys(profilesOfManifest(manifests.get(path)));
    if (names.length > 0 && !names.some(keep)) orphaned.push(path.slice('images/'.length, -`/${MANIFEST_FILE}`.length));
  }
  await writeFileAtomic(file, `${JSON.stringify({ images_tree: tree, index, orphaned })}\n`);
  return orphaned;
}
