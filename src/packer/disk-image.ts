// Which disk file a build made, when its artifact is a file and not an image
// already in the cloud, and its Glance disk and container formats.
import { open, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import { manifestEntryOf, type BuildResult } from './packer.js';

export interface DiskImage {
  /** Absolute path of the file. */
  path: string;
  diskFormat: string;
  containerFormat: string;
}

const QEMU = 'transcend.qemu';
const DISK_FORMATS = new Set(['raw', 'qcow2', 'vmdk', 'vdi', 'vhd', 'vhdx', 'iso', 'ami', 'ari', 'aki', 'ploop']);
const CONTAINER_FORMATS = new Set(['bare', 'ovf', 'ova', 'ami', 'ari', 'aki', 'docker', 'compressed']);

/**
 * The disk file of a finished build: the manifest's `custom_data.disk_image`
 * (a path, relative to the repo; formats from `custom_data.disk_format` /
 * `container_format`, else from the file), else the first file of a `qemu`
 * builder's artifact. Undefined when the build made no disk file.
 */
export async function diskImageOf(result: BuildResult, repo: string): Promise<DiskImage | undefined> {
  if (result.exitCode !== 0 || result.stopped) return undefined;
  const first = result.artifacts[0];
  const custom = manifestEntryOf(result)?.custom_data ?? {};
  const named = typeof custom.disk_image === 'string' && custom.disk_image ? custom.disk_image : undefined;
  const file = named ?? (first?.builderId === QEMU ? first.files[0] : undefined);
  if (!file) return undefined;
  const path = await insideRepo(isAbsolute(file) ? file : join(repo, file), repo, named ? 'custom_data.disk_image' : 'the qemu artifact');
  const diskFormat = typeof custom.disk_format === 'string' && custom.disk_format ? custom.disk_format : await sniffDiskFormat(path);
  const containerFormat = typeof custom.container_format === 'string' && custom.container_format ? custom.container_format : 'bare';
  if (!DISK_FORMATS.has(diskFormat)) throw new Error(`custom_data.disk_format: ${JSON.stringify(diskFormat)} is not a Glance disk format (${[...DISK_FORMATS].join(', ')})`);
  if (!CONTAINER_FORMATS.has(containerFormat)) throw new Error(`custom_data.container_format: ${JSON.stringify(containerFormat)} is not a Glance container format (${[...CONTAINER_FORMATS].join(', ')})`);
  return { path, diskFormat, containerFormat };
}

/**
 * The file, symlinks followed, must be a regular file in the repo (where the
 * build writes): a build file must not be able to send any file of the
 * runner (a key, a credential) to Glance.
 */
async function insideRepo(path: string, repo: string, what: string): Promise<string> {
  const [real, root] = await Promise.all([realpath(path).catch(() => undefined), realpath(repo)]);
  if (!real) throw new Error(`${what}: ${path} does not exist`);
  const inside = relative(root, real);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new Error(`${what}: ${path} is outside the repo ${repo}: the disk file must be written inside it (e.g. output_directory out/<key>/disk)`);
  }
  if (!(await stat(real)).isFile()) throw new Error(`${what}: ${path} is not a regular file`);
  return real;
}

/** qcow2, vmdk, vdi by their magic; iso, vhd(x) by extension; raw otherwise. */
export async function sniffDiskFormat(path: string): Promise<string> {
  const head = Buffer.alloc(64);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2';
  if (head.subarray(0, 4).toString('latin1') === 'KDMV') return 'vmdk';
  if (head.subarray(0, 40).toString('latin1').includes('VirtualBox Disk Image')) return 'vdi';
  const ext = extname(path).toLowerCase().slice(1);
  if (ext === 'iso' || ext === 'vhd' || ext === 'vhdx') return ext;
  return 'raw';
}
