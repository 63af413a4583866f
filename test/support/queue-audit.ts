// Shared by the queue-mode fault tests and the queue benchmark: publishing
// profiles as `detect` does, the queue's depth, polling, and the audit of a
// bare remote's main (manifests at the tip, Profile / Profile-Digest trailers).
import { execFileSync } from 'node:child_process';
import { connect } from 'amqplib';
import { git, gitEnv } from './git-repos.js';

/** One published profile message. */
export interface Published {
  name: string;
  digest: string;
  messageId: string;
  body: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `probe` every `everyMs` until it returns a value (not undefined / false); throw after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The message properties `detect` publishes with: persistent, JSON, id and headers. */
export const publishProperties = (m: Published) => ({
  persistent: true,
  contentType: 'application/json',
  messageId: m.messageId,
  headers: { 'packuilon-profile': m.name, 'packuilon-profile-digest': m.digest },
});

/** Publish as `detect` does on one confirm channel; resolves when the broker confirmed them all. */
export async function publishProfiles(url: string, queue: string, messages: Published[]): Promise<void> {
  const connection = await connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    for (const m of messages) channel.sendToQueue(queue, Buffer.from(m.body), publishProperties(m));
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Ready messages (unacked ones are not counted while a consumer holds them). */
export async function queueDepth(url: string, queue: string): Promise<number> {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    return (await channel.assertQueue(queue, { durable: true })).messageCount;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export interface RemoteAudit {
  /** Published profiles whose digest is not in a manifest at the tip. */
  lost: string[];
  /** `profile@digest` claimed by a commit when the previous claim of that profile had the same digest. */
  duplicates: string[];
  /** Number of such re-claimed (Profile, Profile-Digest) pairs: `duplicates.length`. */
  reclaimed: number;
  /** Commits that claim nothing new at all: a true duplicate commit. */
  duplicateCommits: number;
  /** Image commits on main. */
  commits: number;
  /** Profile → digest over every manifest at the tip. */
  tip: Map<string, string>;
  /** Published profiles whose digest is at the tip. */
  atTip: number;
}

/** What the bare remote's main says about the published profiles. */
export function auditRemote(remote: string, published: Published[]): RemoteAudit {
  const manifests = git(remote, 'ls-tree', '-r', '--name-only', 'main', 'images/')
    .split('\n')
    .filter((path) => path.endsWith('/image.json'));
  const tip = new Map<string, string>();
  if (manifests.length > 0) {
    const out = execFileSync('git', ['cat-file', '--batch'], { cwd: remote, env: gitEnv, input: manifests.map((path) => `main:${path}\n`).join(''), maxBuffer: 1 << 30 });
    let at = 0;
    while (at < out.length) {
      const eol = out.indexOf(10, at);
      const size = Number(out.subarray(at, eol).toString('utf8').split(' ')[2]);
      const text = out.subarray(eol + 1, eol + 1 + size).toString('utf8');
      at = eol + 1 + size + 1;
      for (const [name, digest] of Object.entries((JSON.parse(text) as { profiles: Record<string, string> }).profiles)) tip.set(name, digest);
    }
  }
  const history = execFileSync('git', ['log', '--reverse', '--format=%s%x1f%B%x1e', 'main'], { cwd: remote, env: gitEnv, encoding: 'utf8', maxBuffer: 1 << 30 });
  const last = new Map<string, string>();
  const duplicates: string[] = [];
  let duplicateCommits = 0;
  let commits = 0;
  for (const record of history.split('\x1e')) {
    const [subject, body] = record.trim().split('\x1f');
    if (!subject?.startsWith('images(') || body === undefined) continue;
    commits++;
    const lines = body.split('\n');
    let pairs = 0;
    let again = 0;
    lines.forEach((line, index) => {
      const profile = /^Profile: (.+)$/.exec(line)?.[1];
      const digest = /^Profile-Digest: (.+)$/.exec(lines[index + 1] ?? '')?.[1];
      if (!profile || !digest) return;
      pairs++;
      if (last.get(profile) === digest) {
        again++;
        duplicates.push(`${profile}@${digest}`);
      }
      last.set(profile, digest);
    });
    if (pairs > 0 && again === pairs) duplicateCommits++;
  }
  const lost = published.filter((p) => tip.get(p.name) !== p.digest).map((p) => p.name);
  return { lost, duplicates, reclaimed: duplicates.length, duplicateCommits, commits, tip, atTip: published.length - lost.length };
}
