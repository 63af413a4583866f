import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from 'amqplib';
import { ConfigError } from '../shared/errors.js';
import { sha256 } from '../shared/digest.js';
import { brokerAddress } from './connection.js';
import { deadLetterProperties, replayProperties, toDelivery } from './message.js';
import { HEADER, headersAsText, messageIdOf, readKnownHeaders } from './schema.js';

const message = (properties: Partial<Message['properties']>, content = '{}'): Message => ({
  content: Buffer.from(content),
  fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' },
  properties: { headers: undefined, messageId: undefined, contentType: undefined, ...properties } as Message['properties'],
});

test('header values of any AMQP type read as text', () => {
  assert.deepEqual(headersAsText({ s: 'x', n: 3, b: true, buf: Buffer.from('bytes'), t: { a: 1 }, nil: null }), {
    s: 'x', n: '3', b: 'true', buf: 'bytes', t: '{"a":1}',
  });
  assert.deepEqual(headersAsText(undefined), {});
});

test('a message without an id gets the digest of its body', () => {
  assert.equal(messageIdOf(undefined, Buffer.from('abc')), sha256('abc'));
  assert.equal(messageIdOf('', Buffer.from('abc')), sha256('abc'));
  assert.equal(messageIdOf('given', Buffer.from('abc')), 'given');
});

test("Packuilon's own headers are validated; a malformed one is ignored with a reason", () => {
  const digest = sha256('x');
  assert.deepEqual(readKnownHeaders({ [HEADER.profile]: 'h1', [HEADER.digest]: digest, other: 'y' }), { profile: 'h1', digest });
  const bad = readKnownHeaders({ [HEADER.profile]: 'h1', [HEADER.digest]: 'md5:nope' });
  assert.equal(bad.profile, undefined);
  assert.match(bad.problem ?? '', /packuilon-profile-digest/);
  const { delivery, headerProblem } = toDelivery(message({ headers: { [HEADER.digest]: 'md5:nope' } }));
  assert.equal(delivery.digest, undefined);
  assert.ok(headerProblem);
});

test('dead-letter properties keep the original ones and add the bookkeeping; replay strips it again', () => {
  const original = message({ headers: { [HEADER.profile]: 'h1', n: 2 }, messageId: 'm1', contentType: 'application/json', appId: 'cdb2rabbit' });
  const dead = deadLetterProperties(original, 'm1', 'not JSON', 'h1', new Date('2030-01-02T03:04:05Z'));
  assert.deepEqual(dead, {
    persistent: true, contentType: 'application/json', appId: 'cdb2rabbit', messageId: 'm1',
    headers: { [HEADER.profile]: 'h1', n: 2, [HEADER.deadReason]: 'not JSON', [HEADER.deadAt]: '2030-01-02T03:04:05.000Z', [HEADER.deadProfile]: 'h1' },
  });
  const replay = replayProperties(message({ ...original.properties, headers: dead.headers }), 'm1');
  assert.deepEqual(replay.headers, { [HEADER.profile]: 'h1', n: 2 });
  assert.equal(deadLetterProperties(message({}), 'm2', 'r', undefined).contentType, 'application/json');
});

test('broker address: host:port with the default port, never the password; a bad URL is a ConfigError', () => {
  assert.equal(brokerAddress('amqp://u:secret@mq.example.org/vhost'), 'mq.example.org:5672');
  assert.equal(brokerAddress('amqps://mq.example.org'), 'mq.example.org:5671');
  assert.equal(brokerAddress('amqp://127.0.0.1:5673/'), '127.0.0.1:5673');
  assert.throws(() => brokerAddress('not a url'), ConfigError);
  assert.throws(() => brokerAddress('http://u:secret@x/'), (e: Error) => e instanceof ConfigError && !e.message.includes('secret'));
});
