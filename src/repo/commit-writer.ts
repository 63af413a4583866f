import type { ImageChange } from '../model.js';
import type { Git } from './git.js';
import { commitMessage } from './trailers.js';

const PENDING_REF = 'refs/packuilon/pending';

/**
 * Write one commit per change on top of `base` with a single `git fast-import`:
 * hundreds of commits cost one process, not several per commit. Only the
 * private ref moves; the branch moves after the push succeeded.
 */
export async function writeCommits(git: Git, base: string | null, changes: ImageChange[], committer: string): Promise<string> {
  const chunks: (string | Buffer)[] = [`reset ${PENDING_REF}\n`];
  changes.forEach((change, index) => {
    const message = Buffer.from(commitMessage(change), 'utf8');
    chunks.push(`commit ${PENDING_REF}\ncommitter ${committer}\ndata ${message.length}\n`, message, '\n');
    if (index === 0 && base) chunks.push(`from ${base}\n`);
    // Replace the folder whole: a template dropped from the map leaves no stale file.
    chunks.push(`D images/${change.key}\n`);
    for (const file of change.files) {
      const content = Buffer.from(file.content, 'utf8');
      chunks.push(`M 100644 inline images/${file.path}\ndata ${content.length}\n`, content, '\n');
    }
    chunks.push('\n');
  });
  chunks.push('done\n');
  const input = Buffer.concat(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)));
  await git.run(['fast-import', '--quiet', '--force', '--done'], { input });
  const { stdout } = await git.run(['rev-parse', PENDING_REF]);
  return stdout.trim();
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
