import { join } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { notifyOutcome, type NotifyResult, type Outcome } from '../notify/index.js';
import type { Logger } from '../shared/log.js';
import { assertImageId, assertImageKey, findBuildRecord, findTestReasons, whatFailed } from './build-inputs.js';

export interface CiNotifyOptions {
  key: string;
  /** auto: what out/<key>/ says went wrong (the reject job's notification). */
  outcome: Outcome | 'auto';
  loaded: LoadedConfig;
  imageIds?: string[] | undefined;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/** `ci notify KEY --outcome …`: email and webhook, each optional; what failed comes back as warnings. */
export async function ciNotify(options: CiNotifyOptions): Promise<NotifyResult & { channels: number; nothingToTell?: string }> {
  const { key, loaded, env } = options;
  assertImageKey('ci notify', key);
  for (const id of options.imageIds ?? []) assertImageId(id);
  const outDir = join(loaded.paths.repo, 'out', key);
  let outcome = options.outcome;
  if (outcome === 'auto') {
    const failed = await whatFailed(outDir, key);
    if (failed.outcome === 'none') return { sent: [], warnings: [], channels: 0, nothingToTell: failed.why };
    outcome = failed.outcome;
  }
  const warnings: string[] = [];
  // A broken or missing record must not keep the news from going out.
  const record = await findBuildRecord(outDir, key).catch((error: Error) => void warnings.push(error.message));
  const builds = record ? record.builds : [];
  const imageIds = options.imageIds?.length ? options.imageIds : builds.flatMap((build) => (build.image_id ? [build.image_id] : []));
  const reasons = outcome === 'rejected' ? await findTestReasons(outDir, key).catch((error: Error) => (warnings.push(error.message), [])) : [];
  const settings = loaded.config.notify;
  let email;
  if (settings.email) {
    const smtpUrl = env[settings.email.smtp_url_env];
    if (smtpUrl) email = { smtpUrl, from: settings.email.from, successTo: settings.email.success_to, failureTo: settings.email.failure_to };
    else warnings.push(`notify.email: ${settings.email.smtp_url_env} is not set: no email`);
  }
  const webhookUrl = env[settings.webhook_url_env] || undefined;
  const result = await notifyOutcome({
    facts: {
      key,
      outcome,
      imageIds,
      imageNames: [...new Set(builds.flatMap((build) => (build.image_name ? [build.image_name] : [])))],
      pipelineUrl: env.CI_PIPELINE_URL || undefined,
      commit: env.CI_COMMIT_SHA || record?.commit || undefined,
      reasons,
    },
    email,
    webhookUrl,
    timeoutMs: settings.timeout * 1000,
    log: options.log,
  });
  for (const warning of warnings) options.log.warn({ imageKey: key, err: warning }, 'notification skipped');
  return { sent: result.sent, warnings: [...warnings, ...result.warnings], channels: (email ? 1 : 0) + (webhookUrl ? 1 : 0) };
}
