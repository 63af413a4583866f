import { once } from 'node:events';
import { createGzip } from 'node:zlib';

/** ~4.7 MB of gzip that expand to 1 GiB of zeros, made by streaming through zlib (never committed). */
export async function gzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 1, chunkSize: 1 << 20 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const zeros = Buffer.alloc(1 << 24);
  for (let i = 0; i < 64; i++) if (!gzip.write(zeros)) await once(gzip, 'drain');
  gzip.end();
  await once(gzip, 'end');
  return Buffer.concat(chunks);
}
