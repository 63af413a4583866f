// The broker adapter: publish with confirms, consume in batches, dead-letter,
// inspect and replay dead letters. Effects only: no rendering, no git.
export { createPublisher, type Publisher, type PublisherOptions, type OutgoingMessage } from './publisher.js';
export { createConsumer, type Consumer, type ConsumerOptions, type ConsumerStats } from './consumer.js';
export type { Delivery, Verdict } from './message.js';
export { listDeadLetters, replayDeadLetters, type DeadLetter, type ListResult, type ReplayResult } from './dead-letters.js';
export { deadQueueOf, brokerAddress, type QueueLog } from './connection.js';
export { HEADER } from './schema.js';
