import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createGit, readHistory } from './index.js';
import { commitMessage } from './trailers.js';
import { VERSION } from '../version.js';
import { git, gitEnv, tempDir } from '../../test/support/git-repos.js';

describe('history: commits of earlier releases (no Packuilon-Version) and of this one', () => {
  it('reads both; the version only where the trailer is', async () => {
    const root = tempDir();
    try {
      execFileSync('git', ['init', '--quiet', '--initial-branch=main', root.path], { env: gitEnv });
      const commit = (key: string, message: string) => {
        mkdirSync(join(root.path, 'images', key), { recursive: true });
        writeFileSync(join(root.path, 'images', key, 'image.json'), message);
        git(root.path, 'add', '-A');
        git(root.path, 'commit', '--quiet', '-m', message);
      };
      commit('old-sl7x-x86_64', 'images(old-sl7x-x86_64): new image from a.json\n\nProfile: a.json\nProfile-Digest: sha256:aa\nTrigger: detect\n');
      const change = { key: 'new-sl7x-x86_64', subject: 're-rendered: templates/managed.json changed', trailers: { profiles: [], trigger: 'rerender' as const, messageIds: [] } };
      const message = commitMessage(change);
      assert.match(message, new RegExp(`\n\nTrigger: rerender\nPackuilon-Version: ${VERSION.replace(/\./g, '\\.')}\n$`));
      commit('new-sl7x-x86_64', message);
      const [newest, oldest] = await readHistory(createGit(root.path, gitEnv), {});
      assert.deepEqual(newest, { ...newest, keys: ['new-sl7x-x86_64'], trigger: 'rerender', profiles: [], version: VERSION });
      assert.deepEqual(oldest, { ...oldest, keys: ['old-sl7x-x86_64'], trigger: 'detect', profiles: [{ name: 'a.json', digest: 'sha256:aa' }] });
      assert.equal(oldest?.version, undefined);
    } finally {
      root.remove();
    }
  });
});
