import type { ImageChange } from '../model.js';
import type { Git } from './git.js';
import { commitMessage } from './trailers.js';

const PENDING_REF = 'refs/packuilon/pending';

export interface CommitStream {
  /** Append one commit (on top of the previous one); waits while git's input pipe is full. */
  write(change: ImageChange): Promise<void>;
  /**
   * Make the commits written so far readable by other git processes (fast-import's
   * `checkpoint`): resolves with the id of the last of them once git got there,
   * or undefined when the stream ended first.
   */
  checkpoint(): Promise<string | undefined>;
  /** Wait for git to finish; the id of the last commit (refs/packuilon/pending). */
  finish(): Promise<string>;
  /** Stop without moving any ref. */
  abort(): Promise<void>;
}

/**
 * One commit per change on top of `base`, streamed into a single `git fast-import`
 * as the changes come: hundreds of commits cost one process, not several per commit,
 * and memory holds one commit's files, not the batch's. Only the private ref moves
 * (fast-import updates it when it ends); the branch moves after the push succeeded.
 */
export async function openCommitStream(git: Git, base: string | null, committer: string): Promise<CommitStream> {
  // Through run(): a lock left on the private ref by a killed git is cleared there, before the stream starts.
  await git.run(['update-ref', '-d', PENDING_REF]);
  // Each checkpoint asks for its commit's id (`get-mark`): git answers one line each, in order.
  const answers: ((id: string | undefined) => void)[] = [];
  let pending = '';
  const importer = git.start(['fast-import', '--quiet', '--force', '--done'], {
    onStdout(chunk) {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        answers.shift()?.(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
    },
  });
  const unanswered = () => answers.splice(0).forEach((answer) => answer(undefined));
  let written = 0;
  await importer.write(Buffer.from(`reset ${PENDING_REF}\n`, 'utf8'));
  return {
    async write(change) {
      written++;
      await importer.write(commitInput(change, committer, written === 1 ? base : null, written));
    },
    checkpoint() {
      if (written === 0) return Promise.resolve(undefined);
      const answer = new Promise<string | undefined>((resolve) => answers.push(resolve));
      void importer.write(Buffer.from(`checkpoint\nget-mark :${written}\n`, 'utf8')).catch(unanswered);
      return answer;
    },
    async finish() {
      try {
        await importer.write(Buffer.from('done\n', 'utf8'));
        await importer.end();
      } finally {
        unanswered();
      }
      const { stdout } = await git.run(['rev-parse', PENDING_REF]);
      return stdout.trim();
    },
    abort: () => importer.kill().finally(unanswered),
  };
}

/** fast-import's input for one commit: the image's folder replaced whole (a template dropped from the map leaves no stale file). */
function commitInput(change: ImageChange, committer: string, from: string | null, mark: number): Buffer {
  const message = Buffer.from(commitMessage(change), 'utf8');
  const chunks: Buffer[] = [Buffer.from(`commit ${PENDING_REF}\nmark :${mark}\ncommitter ${committer}\ndata ${message.length}\n`, 'utf8'), message];
  chunks.push(Buffer.from(`\n${from ? `from ${from}\n` : ''}D images/${change.key}\n`, 'utf8'));
  for (const file of change.files) {
    const content = Buffer.from(file.content, 'utf8');
    chunks.push(Buffer.from(`M 100644 inline images/${file.path}\ndata ${content.length}\n`, 'utf8'), content, Buffer.from('\n', 'utf8'));
  }
  chunks.push(Buffer.from('\n', 'utf8'));
  return Buffer.concat(chunks);
}

/** Write all changes in one stream (for callers holding them already). */
export async function writeCommits(git: Git, base: string | null, changes: ImageChange[], committer: string): Promise<string> {
  const stream = await openCommitStream(git, base, committer);
  try {
    for (const change of changes) await stream.write(change);
    return await stream.finish();
  } catch (error) {
    await stream.abort();
    throw error;
  }
}

const identities = new WeakMap<Git, Promise<string>>();

/** `Name <email> <epoch> <tz>`; git's own identity when it has one (asked once per repo handle). */
export async function committerIdentity(git: Git, now: Date): Promise<string> {
  let who = identities.get(git);
  if (!who) {
    who = git.run(['var', 'GIT_COMMITTER_IDENT'], { allowFailure: true }).then((result) => {
      const ident = result.code === 0 ? result.stdout.trim() : '';
      return /^(.* <[^>]*>)/.exec(ident)?.[1] ?? 'Packuilon <packuilon@localhost>';
    });
    identities.set(git, who);
  }
  return `${await who} ${Math.floor(now.getTime() / 1000)} +0000`;
}
