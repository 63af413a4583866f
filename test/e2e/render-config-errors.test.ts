import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse, stringify } from 'yaml';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { LEGACY_TEMPLATE, profileText, writeProfiles, writeSite } from '../support/site.js';
import { runCli } from '../support/cli.js';

/** Exit 2 and one line on stderr naming what was wrong. */
function assertConfigError(result: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, `${result.stderr}${result.stdout}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(lines[0]!, /internal error/);
}

describe('render and detect: bad input files and render-side config errors', () => {
  const root = tempDir();
  const profiles = join(root.path, 'profiles');
  let work: string;
  let config: string;
  const original = { template: LEGACY_TEMPLATE, map: '', yaml: '' };
  const cli = (...args: string[]) => runCli(args, { cwd: work, env: gitEnv });

  before(() => {
    ({ work } = repoWithRemote(root.path));
    config = writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state') });
    original.map = readFileSync(join(work, 'templates', 'template-map.json'), 'utf8');
    original.yaml = readFileSync(config, 'utf8');
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
    writeProfiles(profiles, { 'a.json': { text: profileText({ hostname: 'a' }), mtime: 100 } });
    writeFileSync(join(root.path, 'a.json.gz'), gzipSync(profileText({ hostname: 'a' })));
    writeFileSync(join(root.path, 'a.json'), profileText({ hostname: 'a' }));
  });
  after(() => root.remove());

  /** Change the site in the work tree and commit it (detect reads templates from the commit). */
  const site = (change: { template?: string; map?: unknown; extraTemplates?: Record<string, string>; yaml?: (settings: Record<string, unknown>) => void }) => {
    writeFileSync(join(work, 'templates', 'managed.json'), change.template ?? original.template);
    writeFileSync(join(work, 'templates', 'template-map.json'), change.map ? JSON.stringify(change.map) : original.map);
    for (const [name, text] of Object.entries(change.extraTemplates ?? {})) writeFileSync(join(work, 'templates', name), text);
    const settings = parse(original.yaml);
    change.yaml?.(settings);
    writeFileSync(config, stringify(settings));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '--allow-empty', '-m', 'site change');
  };

  it('render x.json.gz decompresses as detect does: the same build files as x.json', async () => {
    site({});
    const plain = await cli('render', join(root.path, 'a.json'));
    const gz = await cli('render', join(root.path, 'a.json.gz'));
    assert.equal(gz.code, 0, gz.stderr);
    assert.match(gz.stdout, /==> images\/nubesvms-sl7x-x86_64\/managed\.json <==/);
    assert.ok(!gz.stdout.includes('\u001f\u008b'));
    // Same build file; the manifest names the profile by its file name.
    assert.equal(gz.stdout.split('==> images/nubesvms-sl7x-x86_64/image.json')[0], plain.stdout.split('==> images/nubesvms-sl7x-x86_64/image.json')[0]);
  });

  for (const [what, bytes, pattern] of [
    ['cut short', gzipSync(profileText({})).subarray(0, 40), /^packuilon: profile bad\.json\.gz: not a usable \.gz file: cut short/],
    ['plain JSON named .gz', Buffer.from(profileText({})), /^packuilon: profile bad\.json\.gz: not a usable \.gz file: not gzip data/],
    ['a bomb past queue.max_message_bytes', gzipSync(Buffer.alloc(64 * 1024 * 1024)), /^packuilon: profile bad\.json\.gz: not a usable \.gz file: decompresses to more than 1048576 bytes/],
    ['invalid UTF-8 inside', gzipSync(Buffer.concat([Buffer.from('{"system": {"personality": {"name": "a'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}}')])), /^packuilon: profile bad\.json\.gz: system\.personality\.name: invalid UTF-8 \(byte 0xc3/],
    ['a JSON syntax error over lines', gzipSync('{\n  "system": {\n    "x": }\n}\n'), /^packuilon: profile bad\.json\.gz: not valid JSON: Unexpected token '\}'$/],
  ] as const) {
    it(`render of a .gz that is ${what}: exit 2, one line`, async () => {
      site({ yaml: (settings) => (settings.queue = { max_message_bytes: 1024 * 1024 }) });
      writeFileSync(join(root.path, 'bad.json.gz'), bytes);
      assertConfigError(await cli('render', join(root.path, 'bad.json.gz')), pattern);
    });
  }

  const configErrors: [string, Parameters<typeof site>[0], RegExp][] = [
    ['image_name with a slash', { yaml: (s) => (s.image_name = '{personality}/{os}') }, /packuilon\.yaml: image_name: "\{personality\}\/\{os\}" gives unsafe image names/],
    ['image_name with a space', { yaml: (s) => (s.image_name = 'img {key}') }, /image_name: "img \{key\}" gives unsafe image names/],
    ['image_name starting with -', { yaml: (s) => (s.image_name = '-{key}') }, /image_name: "-\{key\}" gives unsafe image names/],
    ['a template setting AQ_OS next to $METADATA', { template: LEGACY_TEMPLATE.replace('{ $METADATA }', '{ $METADATA, "AQ_OS": "x" }') }, /template templates\/managed\.json: _instance_metadata sets AQ_OS next to \$METADATA/],
    [
      'a second $METADATA object that sets AQ_PERSONALITY',
      { template: LEGACY_TEMPLATE.replace('"variables": {},', '"variables": {}, "second": { "AQ_PERSONALITY": "evil", $METADATA },') },
      /template templates\/managed\.json: second sets AQ_PERSONALITY next to \$METADATA/,
    ],
    [
      'foo.json (variables) and a legacy foo.vars.json',
      { map: { DEFAULT: ['templates/foo.json', 'templates/foo.vars.json'] }, extraTemplates: { 'foo.json': '{"variables": {"image_name": ""}, "builders": []}\n', 'foo.vars.json': LEGACY_TEMPLATE } },
      /template map: nubesvms-sl7x-x86_64: template templates\/foo\.vars\.json writes foo\.vars\.json, which template templates\/foo\.json writes too/,
    ],
  ];
  for (const [what, change, pattern] of configErrors) {
    it(`${what}: exit 2 and one line from render and from detect, no profile recorded as rejected`, async () => {
      site(change);
      assertConfigError(await cli('render', join(root.path, 'a.json')), pattern);
      assertConfigError(await cli('detect'), pattern);
      // The pass stopped before the state was saved: nothing recorded, the profile is tried again once the config is mended.
      assert.equal(existsSync(join(root.path, 'state', 'detector-state.tsv')), false);
    });
  }

  it('after the config is mended, detect commits the profile it never recorded as rejected', async () => {
    site({});
    const result = await cli('detect', '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).committed, 1);
  });
});
