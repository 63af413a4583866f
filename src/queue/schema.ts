// Message headers: the names Packuilon writes, and how a delivery's headers are
// read. The seed's Python tools send no headers at all, so every one is optional.
import * as z from 'zod/mini';
import '../shared/zod.js';
import { sha256 } from '../shared/digest.js';
import { MESSAGE_HEADER } from '../model.js';

export const HEADER = {
  ...MESSAGE_HEADER,
  /** Set when dead-lettering; replay strips every `x-packuilon-` header. */
  deadReason: 'x-packuilon-reason',
  deadProfile: 'x-packuilon-profile',
  deadAt: 'x-packuilon-dead-lettered-at',
} as const;

export const DEAD_LETTER_PREFIX = 'x-packuilon-';

const KnownHeaders = z.object({
  [HEADER.profile]: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
  [HEADER.digest]: z.optional(z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/))),
});

export interface KnownHeaderValues {
  profile?: string;
  digest?: string;
  /** Why a present header was ignored, for a log line; the body stays the authority. */
  problem?: string;
}

/** The headers Packuilon itself set, validated; a malformed one is reported and ignored. */
export function readKnownHeaders(headers: Record<string, string>): KnownHeaderValues {
  const parsed = KnownHeaders.safeParse(headers);
  if (parsed.success) {
    const values: KnownHeaderValues = {};
    if (parsed.data[HEADER.profile] !== undefined) values.profile = parsed.data[HEADER.profile];
    if (parsed.data[HEADER.digest] !== undefined) values.digest = parsed.data[HEADER.digest];
    return values;
  }
  const problem = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
  return { problem };
}

/**
 * AMQP header values may be strings, numbers, booleans, byte arrays or nested
 * tables (other clients); callers see plain strings.
 */
export function headersAsText(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw || typeof raw !== 'object') return out;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') out[key] = value;
    else if (Buffer.isBuffer(value)) out[key] = value.toString('utf8');
    else if (typeof value === 'object') out[key] = JSON.stringify(value);
    else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') out[key] = String(value);
  }
  return out;
}

/** The seed's messages carry no message id: the body's digest is a stable stand-in. */
export function messageIdOf(messageId: unknown, body: Buffer): string {
  return typeof messageId === 'string' && messageId !== '' ? messageId : sha256(body);
}

/** Headers without the dead-letter bookkeeping, for replay. */
export function withoutDeadLetterHeaders<T>(headers: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => !key.toLowerCase().startsWith(DEAD_LETTER_PREFIX)));
}
