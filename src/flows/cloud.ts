// One way to the cloud for every job: the openstack config keys, else clouds.yaml / OS_*.
import type { LoadedConfig } from '../config/index.js';
import { createSession, resolveCredentials, type Credentials, type Session } from '../openstack/index.js';
import type { Logger } from '../shared/log.js';

export interface CloudOptions {
  loaded: LoadedConfig;
  env: NodeJS.ProcessEnv;
  /** Where a clouds.yaml of the job's own is looked for. */
  cwd: string;
  log: Logger;
  fetch?: typeof fetch;
}

export function openstackSession(options: CloudOptions): { credentials: Credentials; session: Session } {
  const o = options.loaded.config.openstack;
  const credentials = resolveCredentials({ env: options.env, cwd: options.cwd, cloud: o?.cloud, interface: o?.interface, region: o?.region });
  const session = createSession({ credentials, log: options.log, ...(options.fetch ? { fetch: options.fetch } : {}), timeoutMs: (o?.timeout ?? 60) * 1000 });
  return { credentials, session };
}
