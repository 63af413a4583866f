// ci build, a build whose artifact is a disk file: into Glance with the key's
// provenance, so the test and promote jobs work on an image ID as for a cloud build.
import type { LoadedConfig } from '../config/index.js';
import { createGlance, createSession, resolveCredentials } from '../openstack/index.js';
import { uploadDiskImage, type Uploaded } from '../openstack/upload.js';
import type { DiskImage } from '../packer/disk-image.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { provenance } from './promote.js';

export interface DiskUploadOptions {
  loaded: LoadedConfig;
  key: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  imageName: string;
  commit: string | null;
  disk: DiskImage;
  /** ci build's finding: OS_* set or a clouds.yaml found. */
  hasCloud: boolean;
  now?: () => Date;
}

export async function uploadBuiltDisk(options: DiskUploadOptions): Promise<Uploaded> {
  const { loaded, key, env, disk } = options;
  const repo = loaded.paths.repo;
  if (!options.hasCloud && !loaded.config.openstack?.cloud) {
    throw new ConfigError(`ci build ${key}: the artifact is a disk file (${disk.path}) and no cloud is configured to upload it to: set openstack.cloud, or OS_CLOUD / OS_AUTH_URL and the other OS_* variables`);
  }
  const o = loaded.config.openstack;
  const credentials = resolveCredentials({ env, cwd: repo, cloud: o?.cloud, interface: o?.interface, region: o?.region });
  const session = createSession({ credentials, log: options.log, timeoutMs: (o?.timeout ?? 60) * 1000 });
  const properties = await provenance({ env, key, loaded, log: options.log }, options.commit);
  properties.image_build_date = (options.now ?? (() => new Date()))().toISOString().slice(0, 10);
  return uploadDiskImage(createGlance(session), { path: disk.path, name: options.imageName, diskFormat: disk.diskFormat, containerFormat: disk.containerFormat, properties }, options.log);
}
