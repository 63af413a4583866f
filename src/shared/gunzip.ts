import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

/** A body that cannot be used as it is: not gzip, cut short, or larger than allowed. Callers decide whose fault it is (never retried). */
export class BadBodyError extends Error {
  override name = 'BadBodyError';
  constructor(
    message: string,
    readonly tooLarge: boolean,
  ) {
    super(message);
  }
}

/**
 * Decompress gzip as a stream and stop as soon as the output passes
 * `maxBytes`: a bomb (a few MB that expand to GiBs) costs at most `maxBytes`
 * of memory and the time to inflate that much, never the whole expansion.
 * `input` is the compressed bytes, or a stream of them (a file), so the
 * compressed side is never held whole either.
 */
export function gunzipLimited(input: Buffer | Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gunzip = createGunzip();
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: BadBodyError) => {
      if (settled) return;
      settled = true;
      if (!Buffer.isBuffer(input)) input.destroy();
      gunzip.destroy();
      reject(error);
    };
    gunzip.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(new BadBodyError(`decompresses to more than ${maxBytes} bytes`, true));
      chunks.push(chunk);
    });
    gunzip.on('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'Z_BUF_ERROR' ? 'cut short (unexpected end of the gzip data)' : `not gzip data (${error.message})`;
      fail(new BadBodyError(why, false));
    });
    gunzip.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    if (Buffer.isBuffer(input)) gunzip.end(input);
    else {
      input.on('error', (error: Error) => {
        if (settled) return;
        settled = true;
        gunzip.destroy();
        reject(error);
      });
      input.pipe(gunzip);
    }
  });
}
