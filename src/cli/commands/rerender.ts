import { repoTarget } from '../../flows/process-profiles.js';
import { rerenderImages } from '../../flows/rerender.js';
import { createGit } from '../../repo/index.js';
import { EXIT, UsageError } from '../../shared/errors.js';
import type { CommandContext } from '../io.js';

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/;

/** Re-render images from their manifests with the current templates and maps; one commit per image that changes. */
export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  for (const key of args) if (!KEY.test(key)) throw new UsageError(`rerender: ${JSON.stringify(key.slice(0, 80))} is not an image key`);
  const loaded = context.config();
  const repo = repoTarget(loaded, createGit(loaded.paths.repo, context.io.env));
  const dryRun = options.dryRun === true;
  const requests = repo.mode === 'merge-request' && !dryRun ? await import('../../flows/merge-requests.js') : undefined;
  const forge = requests?.forgeOf(loaded, context.io.env, context.log);
  const { inputIds: _ids, inputPaths: _paths, requestBranches, ...report } = await rerenderImages({ loaded, repo, log: context.log, dryRun, ...(args.length ? { keys: args } : {}) });
  void _ids;
  void _paths;
  // Merge-request mode: the re-rendered images' branches are pushed; their requests are opened or updated now.
  if (requests && forge) {
    await requests.reconcileRequests({ loaded, git: repo.git, forge, log: context.log, ...(requestBranches ? { view: requestBranches } : {}) });
  }
  if (options.json) {
    context.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  const count = (outcome: string) => report.images.filter((image) => image.outcome === outcome).length;
  const rerendered = count('rerendered');
  const done = dryRun ? `${rerendered} would be re-rendered (dry run: nothing written)` : `${rerendered} re-rendered in ${report.commits} commits`;
  context.io.stdout.write(`rerender: ${report.images.length} images, ${done}, ${count('unchanged')} unchanged, ${count('skipped')} skipped\n`);
  for (const image of report.images) {
    if (image.outcome === 'rerendered') context.io.stdout.write(`  ${dryRun ? 'would re-render' : 're-rendered'}: ${image.key}: ${image.changed!.join(', ')} changed\n`);
    else if (image.outcome === 'skipped') context.io.stdout.write(`  skipped: ${image.key}: ${image.reason}\n`);
  }
  return EXIT.ok;
}
