import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { profileText, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';
import { startAquilonServer, type AquilonServer } from '../support/aquilon-server.js';
import { gzipBomb } from '../support/gzip-bomb.js';

const CLI = new URL('../../src/cli/run.ts', import.meta.url).pathname;
const RSS_PRELOAD = new URL('../bench/rss-preload.mjs', import.meta.url).pathname;
const MAX_BYTES = 4 * 1024 * 1024;


/** The last record of each profile in the detector state (snapshot, then journal). */
function stateOf(stateDir: string): Map<string, { digest: string; outcome: string }> {
  const records = new Map<string, { digest: string; outcome: string }>();
  for (const file of ['detector-state.tsv', 'detector-state.journal']) {
    if (!existsSync(join(stateDir, file))) continue;
    for (const line of readFileSync(join(stateDir, file), 'utf8').split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const [name, , digest = '', outcome = ''] = line.split('\t');
      records.set(name!, { digest, outcome });
    }
  }
  return records;
}

describe('hostile profiles: each is its own error, the rest of the site is processed', () => {
  const root = tempDir();
  const profiles = join(root.path, 'profiles');
  let work: string;
  let config: string;
  let aquilon: AquilonServer;
  const good = ['good-a.json', 'good-b.json.gz'];
  const bombs = Array.from({ length: 16 }, (_, i) => `bomb${String(i).padStart(2, '0')}.json.gz`);
  const bad: Record<string, Buffer> = {
    'cut.json.gz': gzipSync(profileText({ hostname: 'cut', personality: 'cut' })).subarray(0, 60),
    'plain.json.gz': Buffer.from(profileText({ hostname: 'plain', personality: 'plain' })),
    'empty.json.gz': Buffer.alloc(0),
    'utf8.json': Buffer.from(profileText({ hostname: 'utf8', personality: 'utf', archetype: 'ral-\u00ff' }).replace('ral-\u00ff', 'ral-XX')),
    'newline.json': Buffer.from(profileText({ hostname: 'nl', personality: 'nl', domain: 'prod\nevil' })),
    'tab.json': Buffer.from(profileText({ hostname: 'tab', personality: 'tab', archetype: 'a\tb' })),
    'syntax.json': Buffer.from('{\n  "system": {\n    "x": }\n}\n'),
  };

  before(async () => {
    ({ work } = repoWithRemote(root.path));
    config = writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state'), remote: true });
    const settings = parse(readFileSync(config, 'utf8'));
    settings.queue = { max_message_bytes: MAX_BYTES };
    writeFileSync(config, stringify(settings));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    git(work, 'push', '--quiet', 'origin', 'main');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(profiles, { recursive: true });
    // One invalid byte (0xff) where XX stood, inside system.archetype.name.
    const utf8 = bad['utf8.json']!;
    const at = utf8.indexOf('ral-XX');
    utf8[at + 4] = 0xff;
    utf8[at + 5] = 0x41;
    writeFileSync(join(profiles, good[0]!), profileText({ hostname: 'a' }));
    writeFileSync(join(profiles, good[1]!), gzipSync(profileText({ hostname: 'b', personality: 'web' })));
    for (const [name, bytes] of Object.entries(bad)) writeFileSync(join(profiles, name), bytes);
    const bomb = await gzipBomb();
    assert.ok(bomb.length < 8 * 1024 * 1024, `bomb is ${bomb.length} bytes`);
    for (const name of bombs) writeFileSync(join(profiles, name), bomb);
    const names = [...good, ...Object.keys(bad), ...bombs];
    const entries = names.map((name) => `<profile mtime='100'>${name}</profile>`);
    // Entries whose character references name no character: each is that entry's problem.
    for (const reference of ['&#x110000;', '&#0;', '&#xD800;', '&#99999999999999999999;']) entries.splice(1, 0, `<profile mtime='100'>x${reference}.json</profile>`);
    writeFileSync(join(profiles, 'profiles-info.xml'), `<?xml version='1.0' encoding='utf-8'?>\n<profiles>\n${entries.join('\n')}\n</profiles>\n`);
    aquilon = await startAquilonServer({ dir: profiles });
  });
  after(async () => {
    await aquilon?.close();
    root.remove();
  });

  it('index_dir: one pass rejects every bad profile, commits the good ones, exit 0, memory bounded with 16 bombs at once', async () => {
    const rssFile = join(root.path, 'rss');
    const child = spawn(process.execPath, ['--import', RSS_PRELOAD, '--import', import.meta.resolve('tsx'), CLI, 'detect', '--json'], {
      cwd: work,
      env: { ...gitEnv, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', BENCH_RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'close');
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.committed, 2, stdout);
    assert.equal(report.rejected, Object.keys(bad).length + bombs.length, stdout);
    assert.equal(report.invalidNames.length, 4);
    assert.deepEqual(report.failed, []);
    const rssMiB = Number(readFileSync(rssFile, 'utf8')) / 1024;
    // 16 × 1 GiB inflated whole would be 16 GiB; capped, each holds at most 4 MiB.
    assert.ok(rssMiB < 400, `peak RSS ${rssMiB.toFixed(0)} MiB`);
    const state = stateOf(join(root.path, 'state'));
    for (const name of [...Object.keys(bad), ...bombs]) assert.equal(state.get(name)?.outcome, 'rejected', name);
    for (const name of good) assert.equal(state.get(name)?.outcome, 'committed', name);
    // Rejected while reading (bytes) or while resolving (values): one log line each, with the profile and the reason.
    const reasons = stderr
      .split('\n')
      .filter((line) => line.includes('"profile rejected"'))
      .map((line) => JSON.parse(line) as { profile: string; reason: string; field?: string })
      .map((entry) => `${entry.profile}: ${entry.field ? `${entry.field}: ` : ''}${entry.reason}`);
    for (const name of [...Object.keys(bad), ...bombs]) assert.ok(reasons.some((r) => r.startsWith(`${name}: `)), `${name} not logged: ${reasons.join('\n')}`);
    assert.ok(reasons.some((r: string) => /^utf8\.json: .*system\.archetype\.name: invalid UTF-8 \(byte 0xff/.test(r)), reasons.join('\n'));
    assert.ok(reasons.some((r: string) => /^newline\.json: .*metadata\.template\.branch\.name: contains a control character \(U\+000A\)/.test(r)), reasons.join('\n'));
    assert.ok(reasons.some((r: string) => /^tab\.json: .*system\.archetype\.name: contains a control character \(U\+0009\)/.test(r)), reasons.join('\n'));
    const syntax = reasons.find((r: string) => r.startsWith('syntax.json'));
    assert.ok(syntax && !syntax.includes('\n') && /not valid JSON: Unexpected token '\}'$/.test(syntax), syntax);
    assert.ok(reasons.some((r) => /^bomb00\.json\.gz: decompresses to more than 4194304 bytes/.test(r)), reasons.join('\n'));
    assert.ok(reasons.some((r) => /^cut\.json\.gz: not a usable \.gz file: cut short/.test(r)), reasons.join('\n'));
    assert.ok(reasons.some((r) => /^plain\.json\.gz: not a usable \.gz file: not gzip data/.test(r)), reasons.join('\n'));
    // Nothing with a replacement character reached git.
    const history = git(work, 'log', '-p', 'main');
    assert.match(history, /new image from good-a\.json/);
    assert.ok(!history.includes('\ufffd'));
  });

  it('index_dir: the next pass retries none of them (recorded, not transient)', async () => {
    const result = await runCli(['detect', '--json'], { cwd: work, env: gitEnv });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.fetched, 0);
    assert.equal(report.committed, 0);
  });

  it('over HTTP the same profiles are rejected the same way, and the good ones are unchanged', async () => {
    const settings = parse(readFileSync(config, 'utf8'));
    delete settings.aquilon.index_dir;
    settings.aquilon.index_url = aquilon.indexUrl;
    settings.state_dir = join(root.path, 'state-http');
    writeFileSync(join(root.path, 'http.yaml'), stringify({ ...settings, repo: { ...settings.repo, path: work } }));
    const result = await runCli(['detect', '--json', '--config', join(root.path, 'http.yaml')], { cwd: work, env: gitEnv });
    assert.equal(result.code, 0, `${result.stderr} ${result.stdout}`);
    const report = JSON.parse(result.stdout);
    assert.equal(report.rejected, Object.keys(bad).length + bombs.length, result.stdout);
    assert.equal(report.committed, 0, JSON.stringify(report.outcomes));
    assert.deepEqual(report.failed, []);
    const state = stateOf(join(root.path, 'state-http'));
    for (const name of [...Object.keys(bad), ...bombs]) assert.equal(state.get(name)?.outcome, 'rejected', name);
  });
});
