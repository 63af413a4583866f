import { createHash } from 'node:crypto';
import type { Digest } from '../model.js';

export function sha256(content: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** The id git gives a blob with these bytes, to compare without asking git. */
export function gitBlobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}
