import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { git, gitEnv, tempDir } from '../support/git-repos.js';
import { runCli } from '../support/cli.js';
import { startAquilonServer, type AquilonServer } from '../support/aquilon-server.js';

const EXAMPLE = new URL('../../examples/site/profiles/', import.meta.url).pathname;

describe('detect over HTTP from the example Aquilon site (gzip, 500s, timeouts)', () => {
  const root = tempDir();
  const site = join(root.path, 'site');
  const repo = join(root.path, 'repo');
  let server: AquilonServer;
  const env = { ...gitEnv };

  before(async () => {
    cpSync(EXAMPLE, site, { recursive: true });
    server = await startAquilonServer({ dir: site, gzip: true });
    const init = await runCli(['init', repo, '--index-url', server.indexUrl], { cwd: root.path, env });
    assert.equal(init.code, 0, init.stderr);
    const config = stringify({
      aquilon: { index_url: server.indexUrl, match: '.cloud.template.json', timeout: 1, retries: 1 },
      state_dir: join(root.path, 'state'),
      repo: { path: '.', branch: 'main' },
    });
    writeFileSync(join(repo, 'packuilon.yaml'), config);
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'scaffold');
  });
  after(async () => {
    await server.close();
    root.remove();
  });

  it('a profile that keeps failing is retried next pass; the others commit; exit 1', async () => {
    server.failNext('nubesvms-sl7x-x86-64.cloud.template.json', 2, 500); // retries: 1 → both attempts of the first pass fail
    server.delay('grid-worker-sl7x-x86-64.cloud.template.json', 3000);
    const result = await runCli(['detect', '--json'], { cwd: repo, env });
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.failed.map((f: { profile: string }) => f.profile).sort(), ['grid-worker-sl7x-x86-64.cloud.template.json', 'nubesvms-sl7x-x86-64.cloud.template.json']);
    assert.match(report.failed.find((f: { profile: string }) => f.profile.startsWith('nubesvms')).error, /HTTP 500/);
    assert.match(report.failed.find((f: { profile: string }) => f.profile.startsWith('grid-worker-sl7x')).error, /no answer in 1000 ms/);
    assert.equal(report.committed, 2); // rocky8x nubesvms + the .json.gz grid-worker; alma9x skipped
    assert.equal(report.skipped, 1);
    assert.equal(server.requests.get('profiles-info.xml'), 1);

    server.delay('grid-worker-sl7x-x86-64.cloud.template.json', 0);
    const retried = await runCli(['detect', '--json'], { cwd: repo, env });
    assert.equal(retried.code, 0, retried.stdout + retried.stderr);
    const second = JSON.parse(retried.stdout);
    assert.equal(second.fetched, 2);
    assert.equal(second.committed, 2);
    const gz = JSON.parse(readFileSync(join(repo, 'images', 'grid-worker-rocky8x-x86_64', 'image.json'), 'utf8'));
    assert.deepEqual(Object.keys(gz.profiles), ['grid-worker-rocky8x-x86-64.cloud.template.json.gz']);
    const sandbox = JSON.parse(readFileSync(join(repo, 'images', 'grid-worker-sl7x-x86_64', 'managed.json'), 'utf8'));
    assert.equal(sandbox.builders[0].instance_metadata.AQ_SANDBOX, 'abc12345/htcondor23-upgrade');
  });

  it('an index that is cut short is refused: nothing is recorded as gone', async () => {
    const index = join(site, 'profiles-info.xml');
    const whole = readFileSync(index, 'utf8');
    writeFileSync(index, whole.slice(0, whole.length / 2));
    const result = await runCli(['detect'], { cwd: repo, env });
    writeFileSync(index, whole);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /profiles-info\.xml: not a complete profiles-info\.xml/);
    const after = await runCli(['detect', '--json'], { cwd: repo, env });
    assert.equal(JSON.parse(after.stdout).fetched, 0);
  });
});
