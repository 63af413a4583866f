// What a consumer hands its caller, and the properties a message keeps when it
// moves to the dead-letter queue and back.
import type { Message, Options } from 'amqplib';
import { HEADER, headersAsText, messageIdOf, readKnownHeaders, withoutDeadLetterHeaders } from './schema.js';

export interface Delivery {
  body: Buffer;
  /** The message id, or `sha256:<hex>` of the body for the seed's messages (they have none). */
  messageId: string;
  /** Every header as text; empty for the seed's messages. */
  headers: Record<string, string>;
  /** The broker delivered it before (a consumer died or requeued it). */
  redelivered: boolean;
  /** From Packuilon's own headers when present and well-formed; the body stays the authority. */
  profile?: string;
  digest?: string;
}

/** What the caller decided for one delivery. */
export type Verdict =
  | { action: 'ack' }
  | { action: 'requeue' }
  | { action: 'dead-letter'; reason: string; profile?: string };

export function toDelivery(raw: Message): { delivery: Delivery; headerProblem?: string } {
  const headers = headersAsText(raw.properties.headers);
  const known = readKnownHeaders(headers);
  const delivery: Delivery = {
    body: raw.content,
    messageId: messageIdOf(raw.properties.messageId, raw.content),
    headers,
    redelivered: raw.fields.redelivered,
  };
  if (known.profile !== undefined) delivery.profile = known.profile;
  if (known.digest !== undefined) delivery.digest = known.digest;
  return known.problem === undefined ? { delivery } : { delivery, headerProblem: known.problem };
}

type PublishOptions = Options.Publish & { messageId: string };

/** The original message's properties, persistent, with the reason and profile added as headers. */
export function deadLetterProperties(raw: Message, messageId: string, reason: string, profile: string | undefined, now = new Date()): PublishOptions {
  const headers: Record<string, unknown> = { ...rawHeaders(raw), [HEADER.deadReason]: reason, [HEADER.deadAt]: now.toISOString() };
  if (profile !== undefined) headers[HEADER.deadProfile] = profile;
  return { ...keptProperties(raw), messageId, headers };
}

/** The dead letter's properties with the dead-letter bookkeeping headers stripped. */
export function replayProperties(raw: Message, messageId: string): PublishOptions {
  return { ...keptProperties(raw), messageId, headers: withoutDeadLetterHeaders(rawHeaders(raw)) };
}

function rawHeaders(raw: Message): Record<string, unknown> {
  const headers: Record<string, unknown> = { ...(raw.properties.headers ?? {}) };
  return headers;
}

function keptProperties(raw: Message): Options.Publish {
  const p = raw.properties;
  const kept: Options.Publish = { persistent: true, contentType: p.contentType ?? 'application/json' };
  if (p.contentEncoding !== undefined) kept.contentEncoding = p.contentEncoding;
  if (p.correlationId !== undefined) kept.correlationId = p.correlationId;
  if (p.timestamp !== undefined) kept.timestamp = p.timestamp;
  if (p.type !== undefined) kept.type = p.type;
  if (p.appId !== undefined) kept.appId = p.appId;
  return kept;
}
