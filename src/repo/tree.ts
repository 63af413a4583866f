import type { Git } from './git.js';
import { fileText } from '../shared/profile-text.js';

/** Paths under images/ → blob id, at a commit (empty for an unborn branch). */
export async function listImageFiles(git: Git, commit: string | null): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  if (!commit) return files;
  const { stdout } = await git.run(['ls-tree', '-r', '-z', '--full-tree', commit, '--', 'images/']);
  for (const entry of stdout.split('\0')) {
    if (!entry) continue;
    const tab = entry.indexOf('\t');
    const [, type, id] = entry.slice(0, tab).split(' ');
    if (type === 'blob' && id) files.set(entry.slice(tab + 1), id);
  }
  return files;
}

/**
 * Contents of blobs by object name (an id, or `<commit>:<path>`), in one
 * `git cat-file --batch`, as bytes: the sizes in its headers count bytes, so
 * the output is sliced before anything is decoded (decoding first let one
 * invalid byte shift every later file of the batch).
 */
export async function readBlobs(git: Git, ids: string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return blobs;
  const child = await git.run(['cat-file', '--batch'], { input: `${unique.join('\n')}\n` });
  const output = child.stdoutBytes;
  let offset = 0;
  for (const id of unique) {
    const newline = output.indexOf(10, offset);
    if (newline < 0) break;
    const header = output.subarray(offset, newline).toString('utf8').split(' ');
    offset = newline + 1;
    if (header[1] === 'missing' || header[1] === 'ambiguous') continue;
    if (header[1] !== 'blob') {
      offset += Number(header[2]) + 1; // a tree or commit by that name: not a file
      continue;
    }
    const size = Number(header[2]);
    blobs.set(id, output.subarray(offset, offset + size));
    offset += size + 1;
  }
  return blobs;
}

export async function resolveRef(git: Git, ref: string): Promise<string | null> {
  const result = await git.run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { allowFailure: true });
  return result.code === 0 ? result.stdout.trim() : null;
}

export async function isAncestor(git: Git, ancestor: string, descendant: string): Promise<boolean> {
  const result = await git.run(['merge-base', '--is-ancestor', ancestor, descendant], { allowFailure: true });
  return result.code === 0;
}

/** Like readBlobs, decoded as UTF-8 strictly: a file that is not text is a config error naming it. */
export async function readTexts(git: Git, ids: string[]): Promise<Map<string, string>> {
  const blobs = await readBlobs(git, ids);
  return new Map([...blobs].map(([id, bytes]) => [id, fileText(id, bytes)] as const));
}

/** Files under images/<key>/ of a tree listing, by key: counted once, not per image. */
export function filesByKey(tree: Map<string, string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const path of tree.keys()) {
    const key = path.split('/', 3)[1];
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
