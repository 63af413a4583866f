import { createServer, type Server } from 'node:http';
import type { ConsumerStats } from '../queue/index.js';
import type { ConsumeCounters } from './consume.js';

/** Prometheus text format: what an operator graphs and alerts on. */
export function renderMetrics(stats: ConsumerStats, counters: ConsumeCounters, now = Date.now()): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
    lines.push(`# HELP packuilon_${name} ${help}`, `# TYPE packuilon_${name} ${type}`, `packuilon_${name} ${value}`);
  };
  metric('messages_received_total', 'counter', 'Messages delivered by the broker (redeliveries included).', stats.received);
  metric('messages_acked_total', 'counter', 'Messages acknowledged after their commit was pushed (or found identical).', stats.acked);
  metric('messages_requeued_total', 'counter', 'Messages returned to the queue for a retry.', stats.requeued);
  metric('messages_dead_lettered_total', 'counter', 'Messages moved to the dead-letter queue.', stats.deadLettered);
  metric('profiles_committed_total', 'counter', 'Profiles whose change made a commit.', counters.committed);
  metric('commits_total', 'counter', 'Image commits pushed.', counters.commits);
  metric('push_retries_total', 'counter', 'Pushes redone after another writer pushed first.', counters.pushRetries);
  metric('batches_failed_total', 'counter', 'Batches not committed (push or git failure), requeued.', counters.failedBatches);
  metric('broker_reconnects_total', 'counter', 'Reconnections to the broker.', stats.reconnects);
  metric('messages_in_hand', 'gauge', 'Messages received and not yet settled.', stats.inHand);
  metric('broker_connected', 'gauge', '1 when connected to the broker.', stats.connected ? 1 : 0);
  metric('seconds_since_last_commit', 'gauge', 'Seconds since the last pushed commit (-1: none yet).', counters.lastCommitAt === null ? -1 : Math.round((now - counters.lastCommitAt) / 1000));
  return `${lines.join('\n')}\n`;
}

/** /metrics and /healthz on loopback unless told otherwise. */
export function serveMetrics(port: number, host: string, read: () => string, healthy: () => boolean): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(read());
    } else if (request.url === '/healthz') {
      const ok = healthy();
      response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'broker disconnected\n');
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
