// ci build, a build whose artifact is a disk file: into Glance with the key's
// provenance, so the test and promote jobs work on an image ID as for a cloud build.
import type { LoadedConfig } from '../config/index.js';
import { createGlance, STAMP, uploadDiskImage, type Uploaded } from '../openstack/index.js';
import type { DiskImage } from '../packer/index.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { openstackSession } from './cloud.js';
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
  const { session } = openstackSession({ loaded, env, cwd: repo, log: options.log });
  const properties = await provenance({ env, key, loaded, log: options.log }, options.commit);
  // promote stamps the key: a stamped image counts as (once) current, so a candidate that fails its test could not be rejected
  delete properties[STAMP.imageKey];
  properties.image_build_date = (options.now ?? (() => new Date()))().toISOString().slice(0, 10);
  return uploadDiskImage(createGlance(session), { path: disk.path, name: options.imageName, diskFormat: disk.diskFormat, containerFormat: disk.containerFormat, properties }, options.log);
}
