import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { environmentKeys, loadConfig } from './index.js';
import { ConfigError } from '../shared/errors.js';
import { tempDir } from '../../test/support/git-repos.js';

function withConfig(text: string, env: NodeJS.ProcessEnv = {}, overrides?: Record<string, unknown>) {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'packuilon.yaml'), text);
    return loadConfig({ env, cwd: dir.path, ...(overrides ? { overrides } : {}) });
  } finally {
    dir.remove();
  }
}

const configError = (pattern: RegExp) => (error: unknown) => error instanceof ConfigError && pattern.test(error.message);

describe('config', () => {
  it('fills the defaults of DESIGN.md', () => {
    const { config } = withConfig('aquilon: { index_url: http://aq/profiles/profiles-info.xml }\n');
    assert.equal(config.trigger, 'direct');
    assert.equal(config.queue.name, 'build-queue');
    assert.equal(config.repo.branch, 'main');
    assert.equal(config.aquilon.match, '');
    assert.equal(config.image_name, '{personality}-{os}{os_version}-{arch}');
    assert.equal(config.templates.map, 'templates/template-map.json');
  });

  it('names the file, the field and what was expected', () => {
    assert.throws(() => withConfig('trigger: rabbit\n'), configError(/packuilon\.yaml: trigger: Invalid option: expected one of "direct"\|"queue"/));
    assert.throws(() => withConfig('repo: { branhc: main }\n'), configError(/packuilon\.yaml: repo: unknown key "branhc"/));
    assert.throws(() => withConfig('aquilon: { concurrency: "many" }\n'), configError(/aquilon\.concurrency: Invalid input: expected number, received string/));
    assert.throws(() => withConfig('aquilon: [1, 2\n'), configError(/packuilon\.yaml: not valid YAML/));
    assert.throws(() => withConfig('- a\n- b\n'), configError(/expected a mapping at the top level/));
  });

  it('takes PACKUILON_* from the environment over the file, and flags over both', () => {
    const text = 'trigger: direct\nstate_dir: /from/file\nqueue: { name: file-q }\n';
    const env = { PACKUILON_TRIGGER: 'queue', PACKUILON_STATE_DIR: '/from/env', PACKUILON_QUEUE_NAME: 'env-q', PACKUILON_AQUILON_CONCURRENCY: '4' };
    const { config, paths } = withConfig(text, env, { trigger: 'direct' });
    assert.equal(config.trigger, 'direct');
    assert.equal(paths.stateDir, '/from/env');
    assert.equal(config.queue.name, 'env-q');
    assert.equal(config.aquilon.concurrency, 4);
  });

  it('reports a bad environment value by the variable name', () => {
    assert.throws(() => withConfig('{}\n', { PACKUILON_AQUILON_TIMEOUT: 'soon' }), configError(/PACKUILON_AQUILON_TIMEOUT: expected a number, received "soon"/));
    assert.throws(() => withConfig('{}\n', { PACKUILON_TRIGGER: 'carrier-pigeon' }), configError(/trigger: Invalid option/));
  });

  it('has an environment name for every scalar key of the contract', () => {
    const names = [...environmentKeys().keys()];
    for (const name of ['PACKUILON_STATE_DIR', 'PACKUILON_TRIGGER', 'PACKUILON_QUEUE_URL', 'PACKUILON_REPO_MODE', 'PACKUILON_FORGE_URL', 'PACKUILON_AQUILON_INDEX_URL', 'PACKUILON_REPO_REMOTE']) {
      assert.ok(names.includes(name), name);
    }
  });

  it('refuses index_url and index_dir together', () => {
    assert.throws(() => withConfig('aquilon: { index_url: http://x/, index_dir: /x }\n'), configError(/set index_url or index_dir, not both/));
  });

  it('resolves relative paths from the config file and the repo', () => {
    const { paths } = withConfig('repo: { path: repo }\nstate_dir: state\n');
    assert.match(paths.repo, /\/repo$/);
    assert.match(paths.stateDir, /\/state$/);
    assert.equal(paths.templateMap, join(paths.repo, 'templates/template-map.json'));
  });
});
