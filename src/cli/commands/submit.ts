import { processProfiles, repoTarget } from '../../flows/process-profiles.js';
import { checkedSkeletonProfile } from '../../flows/submit.js';
import { createGit } from '../../repo/index.js';
import { EXIT } from '../../shared/errors.js';
import { textOption, type CommandContext } from '../io.js';

export async function run(context: CommandContext, options: Record<string, unknown>): Promise<number> {
  const profile = checkedSkeletonProfile({
    personality: textOption(options.personality) ?? '',
    os: textOption(options.os) ?? '',
    osVersion: textOption(options.osVersion) ?? '',
    arch: textOption(options.arch) ?? '',
    archetype: textOption(options.archetype) ?? '',
    ...(textOption(options.domain) ? { domain: textOption(options.domain) } : {}),
    ...(textOption(options.sandbox) ? { sandbox: textOption(options.sandbox) } : {}),
  });
  const loaded = context.config(options.trigger ? { trigger: options.trigger } : {});
  const log = context.log.child({ profile: profile.name });
  if (loaded.config.trigger === 'queue') {
    const { publishProfiles } = await import('../../flows/publish.js');
    await publishProfiles({ loaded, log, env: context.io.env, profiles: [profile] });
    context.io.stdout.write(options.json ? `${JSON.stringify({ profile: profile.name, digest: profile.digest, outcome: 'published' })}\n` : `submit: ${profile.name} published to ${loaded.config.queue.name}\n`);
    return EXIT.ok;
  }
  const target = repoTarget(loaded, createGit(loaded.paths.repo, context.io.env));
  const requests = target.mode === 'merge-request' ? await import('../../flows/merge-requests.js') : undefined;
  const forge = requests?.forgeOf(loaded, context.io.env, log);
  const result = await processProfiles({ inputs: [{ profile }], trigger: 'submit', loaded, repo: target, log });
  if (requests && forge) await requests.reconcileAfterRender({ loaded, git: target.git, forge, log, inputs: [{ profile }], result });
  const [outcome] = result.outcomes;
  if (options.json) context.io.stdout.write(`${JSON.stringify(outcome)}\n`);
  else context.io.stdout.write(`submit: ${outcome?.key ?? profile.name}: ${outcome?.outcome}${outcome?.reason ? ` (${outcome.reason})` : ''}\n`);
  return EXIT.ok;
}
