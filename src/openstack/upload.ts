// A disk file into Glance: create the image, stream the file (never held in
// memory) while hashing it, check Glance's own hash, and on any failure delete
// what was made, so no half-made image is left behind.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { Logger } from '../shared/log.js';
import type { ImageStore } from './glance.js';

export interface UploadRequest {
  path: string;
  name: string;
  diskFormat: string;
  containerFormat: string;
  properties: Record<string, string>;
  /** Progress lines every this many ms [5000]. */
  progressEveryMs?: number;
}

export interface Uploaded {
  id: string;
  size: number;
  sha512: string;
  seconds: number;
}

/** Upload one disk file as a private image; throws (after deleting the image) with one line naming the file and the step. */
export async function uploadDiskImage(glance: ImageStore, request: UploadRequest, log: Logger): Promise<Uploaded> {
  const started = Date.now();
  const { size } = await stat(request.path);
  const image = await glance.create({
    name: request.name,
    disk_format: request.diskFormat,
    container_format: request.containerFormat,
    visibility: 'private',
    ...request.properties,
  });
  log.info({ imageId: image.id, file: request.path, bytes: size }, 'disk image upload started');
  const sha512 = createHash('sha512');
  let sent = 0;
  let lastReport = Date.now();
  const every = request.progressEveryMs ?? 5000;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sha512.update(chunk);
      sent += chunk.length;
      if (Date.now() - lastReport >= every) {
        lastReport = Date.now();
        const seconds = (lastReport - started) / 1000;
        log.info({ imageId: image.id, bytes: sent, of: size, mibPerSecond: Number((sent / 1048576 / seconds).toFixed(1)) }, 'disk image upload progress');
      }
      done(null, chunk);
    },
  });
  try {
    const file = createReadStream(request.path);
    // .pipe() does not carry a read error on: without this the request would wait for ever.
    file.on('error', (error) => hashing.destroy(error));
    await glance.upload(image.id, file.pipe(hashing));
    const digest = sha512.digest('hex');
    if (sent !== size) throw new Error(`sent ${sent} bytes of ${size}: the file changed during the upload`);
    const after = (await glance.get(image.id)) as { status: string; size?: number | null; os_hash_algo?: string | null; os_hash_value?: string | null };
    if (after.status !== 'active') throw new Error(`Glance left the image ${after.status}, not active`);
    if (typeof after.size === 'number' && after.size !== size) throw new Error(`Glance holds ${after.size} bytes, the file has ${size}`);
    if (after.os_hash_algo === 'sha512' && after.os_hash_value && after.os_hash_value !== digest) throw new Error(`Glance's sha512 ${after.os_hash_value.slice(0, 16)}… is not the file's ${digest.slice(0, 16)}…`);
    const seconds = (Date.now() - started) / 1000;
    log.info({ imageId: image.id, bytes: size, seconds }, 'disk image uploaded');
    return { id: image.id, size, sha512: digest, seconds };
  } catch (error) {
    await glance.remove(image.id).catch((removal: Error) => log.error({ imageId: image.id, err: removal.message }, 'could not delete the half-made image'));
    throw new Error(`upload of ${request.path} to image ${image.id} failed: ${(error as Error).message} (the image was deleted)`);
  }
}
