import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import '../shared/zod.js';
import type { LoadedConfig } from '../config/index.js';
import { fetchBranch, findBase, readInputIds, viewOf } from '../repo/index.js';
import { parseTemplateMap } from '../resolve/index.js';
import { writeFileAtomic } from '../shared/fs.js';
import type { Logger } from '../shared/log.js';
import type { RepoTarget } from './process-profiles.js';
import { inputPathsOf, mapPaths, rerenderImages, type RerenderReport } from './rerender.js';

/** The inputs of the last pass: a cache in state_dir (lost: the next pass records them again and re-renders nothing). */
const InputsRecord = z.object({
  image_name: z.string(),
  /** The paths asked for (a path absent then is absent from `ids`). */
  paths: z.array(z.string()),
  /** Repo path → git object id at the pass's base commit. */
  ids: z.record(z.string(), z.string()),
});
type InputsRecord = z.infer<typeof InputsRecord>;

export const INPUTS_FILE = 'rerender-inputs.json';

async function readRecord(stateDir: string): Promise<InputsRecord | undefined> {
  const text = await readFile(join(stateDir, INPUTS_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = InputsRecord.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const sameIds = (a: Record<string, string>, b: Map<string, string>) => Object.keys(a).length === b.size && [...b].every(([path, id]) => a[path] === id);

/**
 * The start of a detect or consume pass: when the templates, the maps or
 * image_name moved since the last pass, re-render every image (one commit
 * per image whose bytes change). Costs one `git ls-tree` when nothing moved
 * (plus a fetch when `fetch` is set and a remote is configured). The first
 * pass, with nothing recorded, only records.
 */
export async function rerenderIfInputsMoved(options: { loaded: LoadedConfig; repo: RepoTarget; log: Logger; fetch: boolean }): Promise<RerenderReport | null> {
  const { loaded, repo, log } = options;
  // Merge-request mode: re-renders are not yet turned into requests; `rerender --dry-run` shows them.
  if (repo.mode === 'merge-request') return null;
  const { stateDir } = loaded.paths;
  const imageName = loaded.config.image_name;
  if (options.fetch && repo.remote) await fetchBranch(repo.git, repo.remote, repo.branch);
  const [record, base] = await Promise.all([readRecord(stateDir), findBase(repo.git, repo.branch, repo.remote)]);
  if (!base) return null;
  const save = (paths: string[], ids: Map<string, string>) =>
    writeFileAtomic(join(stateDir, INPUTS_FILE), `${JSON.stringify({ image_name: imageName, paths, ids: Object.fromEntries(ids) })}\n`);
  if (record) {
    const ids = await readInputIds(repo.git, base, record.paths);
    if (record.image_name === imageName && sameIds(record.ids, ids)) return null;
  } else {
    // Nothing recorded (first pass, or the state was lost): the images in git are taken as current.
    const { map } = mapPaths(loaded);
    const text = (await viewOf(repo.git, base).readFiles([map])).get(map);
    const paths = inputPathsOf(loaded, text === undefined ? undefined : parseTemplateMap(loaded.paths.templateMap, text));
    await save(paths, await readInputIds(repo.git, base, paths));
    return null;
  }
  log.info({ base }, 'templates, maps or image_name changed: re-rendering the images');
  const { inputIds, inputPaths, ...report } = await rerenderImages({ loaded, repo, log, fetched: true });
  await save(inputPaths, inputIds);
  return report;
}
