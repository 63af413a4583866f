import type { LoadedConfig } from '../config/index.js';
import { applyScan, planPass, rememberPass, scanForChanges, saveState } from '../detect/index.js';
import { MESSAGE_HEADER, type ProfileInput, type ProfileRef } from '../model.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { Publisher } from '../queue/index.js';
import { createProfileMatcher, createProfileSource, indexMemoKey, reportOf, type DetectReport } from './scan-site.js';

/** The broker URL: the environment's whole URL, else the config's with a password from `queue.password_env`. */
export function brokerUrl(loaded: LoadedConfig, env: NodeJS.ProcessEnv): string {
  const { url, password_env } = loaded.config.queue;
  const parsed = new URL(url);
  if (parsed.password && loaded.source !== 'defaults' && !env.PACKUILON_QUEUE_URL) {
    throw new ConfigError(`${loaded.source}: queue.url: a password must not be written in the config; set PACKUILON_QUEUE_URL or queue.password_env`);
  }
  if (password_env) {
    const password = env[password_env];
    if (!password) throw new ConfigError(`queue.password_env: environment variable ${password_env} is not set`);
    parsed.password = encodeURIComponent(password);
  }
  return parsed.href;
}

/** Body: the profile exactly as the seed's cdb2rabbit sent it, so both can share a queue during a migration. */
function messageOf(profile: ProfileRef, body: Buffer | string) {
  return {
    body,
    messageId: `${profile.name}@${profile.digest}`,
    headers: { [MESSAGE_HEADER.profile]: profile.name, [MESSAGE_HEADER.digest]: profile.digest },
  };
}

export async function publishProfiles(options: { loaded: LoadedConfig; log: Logger; env: NodeJS.ProcessEnv; profiles: ProfileInput[] }): Promise<void> {
  const { createPublisher } = await import('../queue/index.js');
  const publisher = await createPublisher({ url: brokerUrl(options.loaded, options.env), queue: options.loaded.config.queue.name, log: options.log });
  try {
    await Promise.all(options.profiles.map((profile) => publisher.publish(messageOf(profile, profile.text))));
  } finally {
    await publisher.close();
  }
}

/** Queue-mode detect: publish every changed profile; the state advances only for what the broker confirmed. */
export async function publishChanges(options: { loaded: LoadedConfig; log: Logger; env: NodeJS.ProcessEnv }): Promise<DetectReport & { published: number }> {
  const { loaded, log } = options;
  const url = brokerUrl(loaded, options.env);
  const source = createProfileSource(loaded);
  const matcher = createProfileMatcher(loaded);
  const key = indexMemoKey(loaded, source);
  const planning = planPass({ source, matcher, stateDir: loaded.paths.stateDir, log, memoKey: key });
  planning.catch(() => undefined);
  // The broker client is loaded and connects at the first changed profile, while the rest download:
  // a pass with nothing to publish never pays for it, and it does not hold up the index.
  let connection: Promise<Publisher> | undefined;
  const connecting = () => {
    if (!connection) {
      connection = import('../queue/index.js').then(({ createPublisher }) => createPublisher({ url, queue: loaded.config.queue.name, log }));
      connection.catch(() => undefined);
    }
    return connection;
  };
  const confirms = new Map<string, Promise<void>>();
  let closing: Promise<void> | undefined;
  try {
    const pass = await planning;
    const { stateFile, plan } = pass;
    const { state } = stateFile;
    log.debug({ profiles: state.size, partial: state.partial }, 'state read');
    const scan = await scanForChanges({
      source,
      plan,
      state,
      concurrency: loaded.config.aquilon.concurrency,
      log,
      keepText: false,
      // Published as soon as hashed, in download order, while the rest downloads.
      onChanged: (profile, bytes) => confirms.set(profile.name, connecting().then((publisher) => publisher.publish(messageOf(profile, bytes)))),
    });
    log.debug({ fetched: scan.changed.length + scan.unchanged.length, changed: scan.changed.length }, 'profiles downloaded');
    applyScan(state, scan);
    const report = { ...reportOf(scan, false), published: 0 };
    // A broker that cannot be reached fails the pass as one error; nothing is recorded.
    if (scan.changed.length > 0) await connecting();
    for (const { entry, profile, bytes } of scan.changed) {
      try {
        await confirms.get(entry.name);
        state.set(entry.name, { mtime: entry.mtime, digest: profile.digest, outcome: 'published', bytes });
        report.published++;
      } catch (error) {
        // Not confirmed: the old record stays, the next pass publishes it again.
        report.failed.push({ profile: entry.name, error: (error as Error).message });
      }
    }
    if (scan.changed.length > 0) log.debug({ confirmed: report.published }, 'confirms in');
    // Every confirm is in: the broker connection closes while the state is written.
    source.close();
    closing = connection?.then((publisher) => publisher.close(), () => undefined);
    // Clean: every moved entry is recorded, so the next pass may read only what changes after this index.
    const clean = scan.failed.length === 0 && report.failed.length === 0 && plan.invalid.length === 0;
    const remember = () =>
      rememberPass({ stateDir: loaded.paths.stateDir, memoKey: key, pass }).catch((error: Error) =>
        // A cache: without it the next pass reads the whole index and state.
        log.warn({ error: error.message }, 'index memo not written'),
      );
    await saveState(loaded.paths.stateDir, stateFile, clean ? remember : undefined);
    if (report.published) log.info({ queue: loaded.config.queue.name, published: report.published, failed: report.failed.length }, 'profiles published');
    return report;
  } finally {
    source.close();
    await Promise.allSettled(confirms.values());
    await (closing ?? connection?.then((publisher) => publisher.close(), () => undefined));
  }
}
