import type { LoadedConfig } from '../config/index.js';
import { SAFE_PROFILE_NAME } from '../detect/index.js';
import type { ProfileInput } from '../model.js';
import { createConsumer, type Consumer, type Delivery, type Verdict } from '../queue/index.js';
import { createGit } from '../repo/index.js';
import { profileDigest } from '../shared/digest.js';
import { InputError } from '../shared/errors.js';
import { profileText } from '../shared/profile-text.js';
import type { Logger } from '../shared/log.js';
import { rerenderIfInputsMoved } from './auto-rerender.js';
import { processProfiles, repoTarget } from './process-profiles.js';
import { brokerUrl } from './publish.js';
import { skeletonProfileName } from './submit.js';

const RERENDER_FETCH_MS = 30_000;

export interface ConsumeCounters {
  committed: number;
  commits: number;
  unchanged: number;
  deadLettered: number;
  failedBatches: number;
  pushRetries: number;
  lastCommitAt: number | null;
}

/** What a delivery becomes before resolve: a profile, or a reason to dead-letter it. */
export function profileOfDelivery(delivery: Delivery, maxBytes: number): { profile: ProfileInput } | { reason: string; profile?: string } {
  if (delivery.body.length > maxBytes) return { reason: `message of ${delivery.body.length} bytes exceeds queue.max_message_bytes (${maxBytes})`, ...(delivery.profile ? { profile: delivery.profile } : {}) };
  let text: string;
  try {
    text = profileText(delivery.profile ?? 'message', delivery.body);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    return { reason: error.message, ...(delivery.profile ? { profile: delivery.profile } : {}) };
  }
  const digest = profileDigest(delivery.body, text);
  let name = delivery.profile;
  if (name === undefined) {
    // The seed's messages carry only the body: name them as Aquilon names the file
    // (hostname.domainname.json), else after the host, else after the skeleton's image.
    name = nameFromBody(text) ?? `message-${digest.slice(7, 19)}.json`;
  }
  if (!SAFE_PROFILE_NAME.test(name)) return { reason: `profile name ${JSON.stringify(name.slice(0, 80))} is not usable` };
  return { profile: { name, text, digest } };
}

function nameFromBody(text: string): string | undefined {
  try {
    const system = (JSON.parse(text) as { system?: Record<string, { name?: unknown; hostname?: unknown; domainname?: unknown } & Record<string, unknown>> }).system;
    const hostname = system?.network?.hostname;
    const domainname = system?.network?.domainname;
    // Aquilon names a host's profile file after its FQDN, so this is the name detect saw.
    if (typeof hostname === 'string' && hostname && typeof domainname === 'string' && domainname) return `${hostname}.${domainname}.json`;
    if (typeof hostname === 'string' && hostname) return `${hostname}.json`;
    const os = system?.os as { distribution?: { name?: unknown }; version?: { name?: unknown }; architecture?: unknown } | undefined;
    const parts = [system?.personality?.name, os?.distribution?.name, os?.version?.name, os?.architecture];
    const [personality, distribution, osVersion, arch] = parts;
    if (typeof personality === 'string' && typeof distribution === 'string' && typeof osVersion === 'string' && typeof arch === 'string' && personality) {
      return skeletonProfileName(personality, distribution, osVersion, arch);
    }
  } catch {
    // Not JSON: resolve reports it, naming the message.
  }
  return undefined;
}

/**
 * The queue consumer: each batch in hand → resolve → render → commits → one
 * push; acked only after the push. Bad messages are dead-lettered with the
 * reason; a failed push requeues the batch (the consumer waits, then retries).
 */
export async function startConsuming(options: {
  loaded: LoadedConfig;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** Stop after this many messages were settled (the one-shot twin, for scripts and tests). */
  maxMessages?: number;
  onIdle?: () => void;
}): Promise<{ consumer: Consumer; counters: ConsumeCounters; done: Promise<void> }> {
  const { loaded, log } = options;
  const { queue } = loaded.config;
  const target = repoTarget(loaded, createGit(loaded.paths.repo, options.env));
  const requests = target.mode === 'merge-request' ? await import('./merge-requests.js') : undefined;
  const forge = requests?.forgeOf(loaded, options.env, log);
  const counters: ConsumeCounters = { committed: 0, commits: 0, unchanged: 0, deadLettered: 0, failedBatches: 0, pushRetries: 0, lastCommitAt: null };
  let settled = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));

  let lastFetch = 0;
  const onBatch = async (deliveries: readonly Delivery[]): Promise<Verdict[]> => {
    const verdicts: (Verdict | undefined)[] = deliveries.map(() => undefined);
    const inputs: { profile: ProfileInput; messageId: string; index: number }[] = [];
    deliveries.forEach((delivery, index) => {
      const prepared = profileOfDelivery(delivery, queue.max_message_bytes);
      if ('reason' in prepared) verdicts[index] = { action: 'dead-letter', reason: prepared.reason, ...(prepared.profile ? { profile: prepared.profile } : {}) };
      else inputs.push({ profile: prepared.profile, messageId: delivery.messageId, index });
    });
    try {
      // Templates or maps moved: re-render before this batch's commits. The remote is asked at most
      // every RERENDER_FETCH_MS (a busy consumer learns of it from its own rejected pushes in between).
      const fetch = Date.now() - lastFetch >= RERENDER_FETCH_MS;
      if (fetch) lastFetch = Date.now();
      const rerendered = await rerenderIfInputsMoved({ loaded, repo: target, log, fetch });
      if (rerendered?.commits) {
        counters.commits += rerendered.commits;
        counters.lastCommitAt = Date.now();
      }
      const result = await processProfiles({ inputs, trigger: 'queue', loaded, repo: target, log });
      result.outcomes.forEach((outcome, position) => {
        const index = inputs[position]!.index;
        if (outcome.outcome === 'rejected' || outcome.outcome === 'skipped') {
          verdicts[index] = { action: 'dead-letter', reason: outcome.reason ?? outcome.outcome, profile: outcome.profile };
        } else {
          verdicts[index] = { action: 'ack' };
          if (outcome.outcome === 'committed') counters.committed++;
          else counters.unchanged++;
        }
      });
      if (result.commits > 0) {
        counters.commits += result.commits;
        counters.lastCommitAt = Date.now();
      }
      counters.pushRetries += Math.max(0, result.attempts - 1);
      if (requests && forge) {
        // The branches are pushed: the batch is acked even when the forge fails; the next batch reconciles.
        await requests.reconcileAfterRender({ loaded, git: target.git, forge, log, inputs, result }).catch((error: unknown) => {
          log.error({ err: (error as Error).message }, 'requests not reconciled; the next batch tries again');
        });
      }
    } catch (error) {
      counters.failedBatches++;
      log.error({ messages: deliveries.length, err: (error as Error).message }, 'batch not committed; requeued for retry');
      throw error;
    }
    const final = verdicts.map((verdict) => verdict ?? ({ action: 'requeue' } as const));
    counters.deadLettered += final.filter((verdict) => verdict.action === 'dead-letter').length;
    for (const [index, verdict] of final.entries()) {
      if (verdict.action === 'dead-letter') log.warn({ messageId: deliveries[index]!.messageId, profile: verdict.profile, reason: verdict.reason }, 'message dead-lettered');
    }
    settled += final.length;
    if (options.maxMessages !== undefined && settled >= options.maxMessages) queueMicrotask(finish);
    return final;
  };

  const consumer = await createConsumer({ url: brokerUrl(loaded, options.env), queue: queue.name, prefetch: queue.prefetch, log, onBatch });
  return { consumer, counters, done };
}
