import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { main } from '../cli/main.js';
import { run } from '../cli/commands/migrate.js';
import { Config } from '../config/schema.js';
import { parseSourceImages, parseTemplateMap } from '../resolve/maps.js';
import { createLogger } from '../shared/log.js';
import type { MigrateReport } from './report.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/seed-packer-utils', import.meta.url));
const MIRROR = '/work/.mirror/stfc+packuilon/repo';
const PASSWORD = 's3cr3t-do-not-copy';

/** A seed /etc/packer-utils in a temp dir: the fixture, else the seed repo's own; its RABBIT_PW is PASSWORD. */
function seedCopy(root: string): string {
  const seed = join(root, 'packer-utils');
  if (existsSync(FIXTURE)) cpSync(FIXTURE, seed, { recursive: true });
  else {
    execFileSync('sh', ['-c', `git -C ${MIRROR} archive HEAD etc/packer-utils | tar -x -C ${root}`]);
    cpSync(join(root, 'etc/packer-utils'), seed, { recursive: true });
  }
  const ini = join(seed, 'config.ini');
  writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^RABBIT_PW\s*=.*$/m, `RABBIT_PW = ${PASSWORD}`));
  return seed;
}

function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'packuilon-migrate-'));
  return { root, seed: seedCopy(root), into: join(root, 'repo'), [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
}

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) }, env: { LOG_LEVEL: 'silent' }, cwd: tmpdir() };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

const read = (path: string) => readFileSync(path, 'utf8');
const configOf = (into: string) => Config.parse(parseYaml(read(join(into, 'packuilon.yaml'))));

test('migrates a seed directory: config, templates, map, source images, scripts', async () => {
  using w = workspace();
  const result = await cli('migrate', w.seed, '--into', w.into);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(filesUnder(w.into), [
    'images/source-images.json',
    'packuilon.yaml',
    'scripts/cloud-init.txt',
    'scripts/update_ccm_conf.sh',
    'templates/managed.json',
    'templates/template-map.json',
    'templates/unmanaged.json',
  ]);

  const yaml = read(join(w.into, 'packuilon.yaml'));
  assert.match(yaml, /^# Packuilon configuration, migrated by `packuilon migrate`/);
  // Merge-request mode offered commented out, the token named by its variable only.
  assert.match(yaml, /^# forge:\n#   type: gitlab .*\n(#.*\n)*#   token_env: GITLAB_TOKEN /m);
  const config = configOf(w.into);
  assert.equal(config.forge, undefined);
  assert.equal(config.repo.mode, 'direct');
  assert.equal(config.aquilon.index_url, 'http://server/profiles/profiles-info.xml');
  assert.equal(config.aquilon.profile_url, 'http://server/profiles/');
  assert.equal(config.aquilon.match, '.cloud.template.json');
  assert.equal(config.trigger, 'direct');
  assert.equal(config.queue.url, 'amqp://guest@RabbitMQ-host:5672/');
  assert.equal(config.queue.name, 'build-queue');
  assert.deepEqual(config.templates, { map: 'templates/template-map.json', sources: 'images/source-images.json' });

  const map = parseTemplateMap('map', read(join(w.into, 'templates/template-map.json')));
  assert.deepEqual(map, { DEFAULT: ['templates/unmanaged.json', 'templates/managed.json'], 'test-sl7x-x86_64': ['templates/managed.json'] });
  for (const path of Object.values(map).flat()) assert.ok(existsSync(join(w.into, path)), path);

  // Templates: only the seed paths change; the blanks stay for Packuilon to fill.
  for (const name of ['managed.json', 'unmanaged.json']) {
    const original = read(join(w.seed, 'templates', name));
    const migrated = read(join(w.into, 'templates', name));
    const expected = original
      .replace('"/etc/packer-utils/cloud-init.txt"', '"scripts/cloud-init.txt"')
      .replace('"/etc/packer-utils/templates/update_ccm_conf.sh"', '"scripts/update_ccm_conf.sh"');
    assert.equal(migrated, expected);
    assert.match(migrated, /\$NAME/);
    assert.match(migrated, /\{ \$METADATA \}/);
    assert.match(migrated, /"\$IMAGE"/);
  }
  assert.equal(read(join(w.into, 'scripts/cloud-init.txt')), read(join(w.seed, 'cloud-init.txt')));
  assert.equal(read(join(w.into, 'scripts/update_ccm_conf.sh')), read(join(w.seed, 'templates/update_ccm_conf.sh')));

  const sources = parseSourceImages('sources', read(join(w.into, 'images/source-images.json')));
  assert.equal(sources.get('sl7x-x86_64'), '0b10e583-9e13-4878-9116-f4002846fa73');
  assert.equal(sources.get('sl6x-x86_64'), '7eb100a3-680b-4544-99cc-950b8c4f6c74');
  assert.equal(sources.has('osos_version-archetype'), false);

  for (const file of filesUnder(w.into)) {
    const text = read(join(w.into, file));
    assert.ok(!text.includes(PASSWORD) && !text.includes('s3cr3t'), `${file} holds the broker password`);
    assert.ok(!text.includes('hooks.slack.com'), `${file} holds the Slack hook`);
  }
  assert.ok(!result.stdout.includes('s3cr3t'));

  assert.match(result.stdout, /global\.RABBIT_PW: a secret, never written.*PACKUILON_QUEUE_URL/);
  assert.match(result.stdout, /source image osos_version-archetype: "this-is-not-valid": key is not <os><osversion>-<arch>/);
  assert.match(result.stdout, /cdb2rabbit\.CACHE_DIR: .*packuilon detect --baseline/);
  assert.match(result.stdout, /\/etc\/packer-utils\/admin-auth\.sh .*never copied/);
  for (const key of ['PACKER_PATH', 'PACKER_AUTH_FILE', 'PACKER_ADMIN_AUTH', 'LOG_DIR', 'BUILD_FILE_DIR', 'SUCCESS_ADDRESS', 'FAILURE_ADDRESS', 'SLACK_SUCCESS_HOOK', 'THREAD_COUNT', 'DEPLOYMENT_UUID']) {
    assert.match(result.stdout, new RegExp(`\\.${key}: \\S`), key);
  }
});

test('--trigger queue writes trigger: queue with the broker settings; --json gives the report', async () => {
  using w = workspace();
  const result = await cli('migrate', w.seed, '--into', w.into, '--trigger', 'queue', '--json');
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as MigrateReport;
  assert.equal(report.trigger, 'queue');
  assert.deepEqual(report.written.map((file) => file.status), Array(7).fill('written'));
  assert.ok(report.mapped.some((entry) => entry.setting === 'global.RABBIT_HOST' && entry.to === 'queue.url'));
  assert.ok(report.notMapped.some((entry) => entry.item.startsWith('source image osos_version-archetype')));
  const config = configOf(w.into);
  assert.equal(config.trigger, 'queue');
  assert.equal(config.queue.url, 'amqp://guest@RabbitMQ-host:5672/');
  assert.equal(config.queue.name, 'build-queue');
});

test('a second run finds identical files and changes nothing', async () => {
  using w = workspace();
  assert.equal((await cli('migrate', w.seed, '--into', w.into)).code, 0);
  const again = await cli('migrate', w.seed, '--into', w.into, '--json');
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(new Set((JSON.parse(again.stdout) as MigrateReport).written.map((file) => file.status)), new Set(['unchanged']));
});

test('a missing seed directory is exit 2, naming it', async () => {
  using w = workspace();
  const missing = join(w.root, 'no-such-dir');
  const result = await cli('migrate', missing, '--into', w.into);
  assert.equal(result.code, 2);
  assert.ok(result.stderr.includes(missing), result.stderr);
  assert.equal(existsSync(w.into), false);
});

test('an existing, different packuilon.yaml is exit 2, naming it, and nothing is written', async () => {
  using w = workspace();
  mkdirSync(w.into);
  writeFileSync(join(w.into, 'packuilon.yaml'), 'trigger: queue\n');
  const result = await cli('migrate', w.seed, '--into', w.into);
  assert.equal(result.code, 2);
  assert.ok(result.stderr.includes(join(w.into, 'packuilon.yaml')), result.stderr);
  assert.deepEqual(filesUnder(w.into), ['packuilon.yaml']);
  assert.equal(read(join(w.into, 'packuilon.yaml')), 'trigger: queue\n');
});

test('an existing, different template is a conflict too', async () => {
  using w = workspace();
  mkdirSync(join(w.into, 'templates'), { recursive: true });
  writeFileSync(join(w.into, 'templates/managed.json'), '{}\n');
  const result = await cli('migrate', w.seed, '--into', w.into);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /templates\/managed\.json/);
  assert.deepEqual(filesUnder(w.into), ['templates/managed.json']);
});

test('run() writes into the current directory by default; odd seeds are reported, not fatal', async () => {
  using w = workspace();
  // KEY=value spellings, an unknown key, a nested source-image map, a missing template
  // outside the seed, a missing referenced file, an executable script.
  writeFileSync(join(w.seed, 'config.ini'), `[global]\nQUEUE=q1\nRABBIT_HOST=mq.example.org\nRABBIT_USER=packer\nRABBIT_PW=${PASSWORD}\nSMTP_SERVER=mail\n[cdb2rabbit]\nPROFILE_INFO_URL=http://aq/profiles-info.xml\nPROFILE_MATCH=\n`);
  writeFileSync(join(w.seed, 'source-images.json'), JSON.stringify({ sl: { '7x-x86_64': '0b10e583-9e13-4878-9116-f4002846fa73' } }));
  writeFileSync(join(w.seed, 'template-map.json'), JSON.stringify({ DEFAULT: ['/etc/packer-utils/templates/managed.json', '/opt/elsewhere/gone.json'], 'x-sl7x-x86_64': ['/opt/elsewhere/gone.json'] }));
  writeFileSync(join(w.seed, 'templates/managed.json'), '{ "provisioners": [ { "type": "shell", "script": "/etc/packer-utils/run.sh" }, { "type": "file", "source": "/etc/packer-utils/missing.sh", "destination": "/tmp/m" } ] }\n');
  writeFileSync(join(w.seed, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(w.seed, 'run.sh'), 0o755);
  mkdirSync(w.into);
  let stdout = '';
  const io = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true }, env: {}, cwd: w.into };
  const context = { io, log: createLogger({ LOG_LEVEL: 'silent' }), config: () => { throw new Error('migrate needs no config'); } };
  assert.equal(await run(context, {}, [w.seed]), 0);

  const config = configOf(w.into);
  assert.equal(config.queue.url, 'amqp://packer@mq.example.org/');
  assert.equal(config.queue.name, 'q1');
  assert.equal(config.aquilon.match, '');
  assert.deepEqual(parseTemplateMap('m', read(join(w.into, 'templates/template-map.json'))), { DEFAULT: ['templates/managed.json'] });
  assert.equal(read(join(w.into, 'templates/managed.json')), read(join(w.seed, 'templates/managed.json')).replace('/etc/packer-utils/run.sh', 'scripts/run.sh'));
  assert.ok(statSync(join(w.into, 'scripts/run.sh')).mode & 0o100);
  assert.deepEqual(JSON.parse(read(join(w.into, 'images/source-images.json'))), { sl: { '7x-x86_64': '0b10e583-9e13-4878-9116-f4002846fa73' } });
  assert.match(stdout, /global\.SMTP_SERVER: unknown setting/);
  assert.match(stdout, /template-map DEFAULT: \/opt\/elsewhere\/gone\.json: template outside the seed directory does not exist/);
  assert.match(stdout, /template-map x-sl7x-x86_64: none of its templates exist/);
  assert.match(stdout, /\/etc\/packer-utils\/missing\.sh \(in templates\/managed\.json\): referenced file is missing/);
  for (const file of filesUnder(w.into)) assert.ok(!read(join(w.into, file)).includes(PASSWORD), file);
});

test('credentials in PROFILE_INFO_URL / PROFILE_DIR_URL go to the environment, never into packuilon.yaml', async () => {
  const cases: [info: string, dir: string, bareInfo: string, secrets: string[]][] = [
    ['http://aq:pa@ss:w0rd@server/profiles/profiles-info.xml', 'http://aq:pa@ss:w0rd@server/profiles/', 'http://server/profiles/profiles-info.xml', ['pa@ss', 'w0rd']],
    ['https://gl-TOKEN-123@server:8443/profiles/profiles-info.xml', 'https://server:8443/profiles/', 'https://server:8443/profiles/profiles-info.xml', ['gl-TOKEN-123']],
    ['http://:only-pw!$@server/p/profiles-info.xml', '', 'http://server/p/profiles-info.xml', ['only-pw!$']],
  ];
  for (const [info, dir, bareInfo, secrets] of cases) {
    using w = workspace();
    const ini = join(w.seed, 'config.ini');
    writeFileSync(ini, read(ini).replace(/^PROFILE_INFO_URL\s*=.*$/m, `PROFILE_INFO_URL = ${info}`).replace(/^PROFILE_DIR_URL\s*=.*$/m, `PROFILE_DIR_URL = ${dir}`));
    const result = await cli('migrate', w.seed, '--into', w.into, '--json');
    assert.equal(result.code, 0, result.stderr);
    const yaml = read(join(w.into, 'packuilon.yaml'));
    for (const secret of secrets) assert.ok(!(yaml + result.stdout + result.stderr).includes(secret), `${secret} leaked`);
    assert.equal(configOf(w.into).aquilon.index_url, bareInfo);
    const report = JSON.parse(result.stdout) as MigrateReport;
    assert.ok(report.warnings.some((line) => /PROFILE_INFO_URL carries credentials.*PACKUILON_AQUILON_INDEX_URL/.test(line)), report.warnings.join('\n'));
    assert.ok(report.nextSteps.some((line) => line.startsWith('set PACKUILON_AQUILON_INDEX_URL')));
    const dirHadCredentials = dir.includes('@');
    assert.equal(report.nextSteps.some((line) => line.startsWith('set PACKUILON_AQUILON_PROFILE_URL')), dirHadCredentials);
  }
});
