import { join } from 'node:path';
import { describeBuild, findBuildRecord } from '../../flows/build-history.js';
import { createGit, readHistory } from '../../repo/index.js';

import { EXIT, UsageError } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const key = args[0];
  if (key !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(key)) throw new UsageError(`history: ${JSON.stringify(key)} is not an image key`);

  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit: expected a positive integer, received ${String(options.limit)}`);
  const loaded = context.config();
  const entries: (Awaited<ReturnType<typeof readHistory>>[number] & { builds?: unknown[] })[] = await readHistory(createGit(loaded.paths.repo, context.io.env), { ...(key ? { key } : {}), ...(limit ? { limit } : {}) });
  // The build `ci build` recorded goes with the commit it built; a build of a commit not listed comes first.
  const build = key ? await findBuildRecord(join(loaded.paths.repo, 'out'), key) : undefined;
  const built = build ? entries.find((entry) => entry.commit === build.commit) : undefined;
  if (build && built) built.builds = build.builds;
  else if (build) entries.unshift({ commit: build.commit ?? '', date: '', subject: `build of images/${build.key}`, keys: [build.key], profiles: [], messageIds: [], events: [], builds: build.builds });
  if (options.json) {
    context.io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    return EXIT.ok;
  }
  if (entries.length === 0 && !build) context.io.stdout.write(`no image changes${key ? ` for ${key}` : ''} in ${loaded.paths.repo}\n`);
  if (build && !built) context.io.stdout.write(`${describeBuild(build)}\n`);
  for (const entry of entries) {
    if (!entry.date) continue;
    context.io.stdout.write(`${entry.date}  ${entry.commit.slice(0, 10)}  ${entry.subject}  [${entry.trigger ?? '?'}]\n`);
    if (build && entry === built) context.io.stdout.write(`    ${describeBuild(build)}\n`);
    for (const profile of entry.profiles) context.io.stdout.write(`    ${profile.name}  ${profile.digest ?? ''}\n`);
    for (const event of entry.events) context.io.stdout.write(`    ${event.at}  ${event.type}  ${typeof event.summary === 'string' ? event.summary : ''}\n`);
  }
  return EXIT.ok;
}
