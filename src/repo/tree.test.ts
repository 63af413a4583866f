import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGit } from './git.js';
import { readBlobs } from './tree.js';
import { fileText } from '../shared/profile-text.js';
import { ConfigError } from '../shared/errors.js';
import { git, gitEnv, tempDir } from '../../test/support/git-repos.js';

describe('readBlobs: cat-file output sliced as bytes', () => {
  const root = tempDir();
  after(() => root.remove());
  const files: Record<string, Buffer> = {
    'templates/a-bad.json': Buffer.from([0x7b, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]),
    'templates/b.json': Buffer.from('{"b": "ünïcødé ☃"}\n'),
    'templates/c-cut.json': Buffer.from([0x22, 0xe2, 0x98, 0x22]), // a snowman missing its last byte
    'templates/d.json': Buffer.from('{"d": 4}\n'),
    'templates/e-nul.bin': Buffer.from([0, 1, 2, 0x0a, 0x0a, 0xc0, 0x80]),
    'templates/f.json': Buffer.from(''),
    'templates/g.json': Buffer.from('last\n'),
  };
  const repo = join(root.path, 'repo');
  mkdirSync(join(repo, 'templates'), { recursive: true });
  git(root.path, 'init', '--quiet', '--initial-branch=main', repo);
  for (const [path, bytes] of Object.entries(files)) writeFileSync(join(repo, path), bytes);
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'files');
  const gitRepo = createGit(repo, gitEnv);

  it('gives every file its own bytes, whatever invalid bytes come before it', async () => {
    const paths = Object.keys(files);
    const blobs = await readBlobs(gitRepo, [...paths.map((path) => `HEAD:${path}`), 'HEAD:missing.json', 'HEAD:templates']);
    for (const path of paths) assert.deepEqual(blobs.get(`HEAD:${path}`), files[path], path);
    assert.equal(blobs.has('HEAD:missing.json'), false);
    assert.equal(blobs.has('HEAD:templates'), false);
  });

  it('in a batch of one order or the other', async () => {
    const paths = Object.keys(files).reverse();
    const blobs = await readBlobs(gitRepo, paths.map((path) => `HEAD:${path}`));
    for (const path of paths) assert.deepEqual(blobs.get(`HEAD:${path}`), files[path], path);
  });

  it('decoding blames the file whose bytes are not UTF-8, and only it', async () => {
    const blobs = await readBlobs(gitRepo, Object.keys(files).map((path) => `HEAD:${path}`));
    for (const [path, bytes] of Object.entries(files)) {
      const bad = path.includes('bad') || path.includes('cut') || path.includes('nul');
      if (bad) assert.throws(() => fileText(path, blobs.get(`HEAD:${path}`)!), (error: unknown) => error instanceof ConfigError && error.message.startsWith(`${path}: not UTF-8 (byte 0x`));
      else assert.equal(fileText(path, blobs.get(`HEAD:${path}`)!), bytes.toString('utf8'));
    }
  });
});
