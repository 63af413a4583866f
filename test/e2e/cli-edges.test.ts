// What a new user and a careless operator hit at the process edge: a closed
// stdout, no config file, logs on a terminal, config values that cannot work
// (queue.url, repo.branch, templates outside the repo), bad flag values.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { git, gitEnv, repoWithRemote, tempDir } from '../support/git-repos.js';
import { runCli } from '../support/cli.js';
import { bundleIsFresh } from '../support/bundle.js';
import { profileText, writeProfiles, writeSite } from '../support/site.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The real process: the bundle when it is current (scripts/setup.sh builds it; so pino-pretty is checked in it), else the sources through tsx. */
const CLI = bundleIsFresh() ? [join(ROOT, 'bin/packuilon.mjs')] : ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/run.ts')];

describe('the process edge', () => {
  const root = tempDir();
  const profiles = join(root.path, 'profiles');
  let work: string;
  let config: string;
  const env = { ...gitEnv, LOG_LEVEL: 'silent' };
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { cwd: work, env: { ...env, ...extra } });
  type Editable = { aquilon?: Record<string, unknown>; trigger?: string; queue?: Record<string, unknown>; repo?: Record<string, unknown>; templates?: Record<string, unknown> };
  const withConfig = (change: (config: Editable) => void): string => {
    const edited = parse(readFileSync(config, 'utf8')) as Editable;
    change(edited);
    const file = join(root.path, `edited-${Math.random().toString(36).slice(2)}.yaml`);
    // Relative paths in a config are relative to its file: keep the repo where it is.
    edited.repo = { ...edited.repo, path: work };
    writeFileSync(file, stringify(edited));
    return file;
  };

  before(() => {
    ({ work } = repoWithRemote(root.path));
    config = writeSite(work, { profilesDir: profiles, stateDir: join(root.path, 'state') });
    writeProfiles(profiles, { 'web01.json': { text: profileText({ hostname: 'web01', personality: 'web' }), mtime: 1 } });
    writeFileSync(join(root.path, 'big.json'), profileText({ hostname: 'big', personality: 'big', extra: 'x'.repeat(400_000) }));
    git(work, 'add', '-A');
    git(work, 'commit', '--quiet', '-m', 'site');
  });
  after(() => root.remove());

  describe('a closed stdout ends the command quietly, exit 0', () => {
    const closedStdout = async (args: string[]) => {
      const child = spawn(process.execPath, [...CLI, ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // the reader went away before the first byte, as `| head -0` does
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      return { code, signal, stderr };
    };
    for (const args of [['render', join(ROOT, 'examples/site/profiles/nubesvms-sl7x-x86-64.cloud.template.json')], ['render', 'BIG'], ['--help'], ['history']]) {
      it(args.map((a) => a.split('/').pop()).join(' '), async () => {
        const result = await closedStdout(args.map((a) => (a === 'BIG' ? join(root.path, 'big.json') : a)));
        assert.equal(result.signal, null);
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(result.stderr, /EPIPE|Error|at /);
      });
    }

    it('and `render x.json | head -c 100` in a shell keeps the first bytes, exit 0', () => {
      const out = spawnSync('bash', ['-o', 'pipefail', '-c', `${process.execPath} ${CLI.join(' ')} render ${join(root.path, 'big.json')} | head -c 100`], { cwd: work, env, encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stdout.length, 100);
      assert.equal(out.stderr, '');
    });
  });

  describe('no packuilon.yaml', () => {
    it('detect names the file it looked for and how to name one, exit 2', async () => {
      const empty = join(root.path, 'empty');
      mkdirSync(empty, { recursive: true });
      const result = await runCli(['detect'], { cwd: empty, env });
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.ok(result.stderr.includes(join(empty, 'packuilon.yaml')), result.stderr);
      assert.match(result.stderr, /--config FILE or PACKUILON_CONFIG/);
    });

    it('a --config or PACKUILON_CONFIG that does not exist is named, exit 2', async () => {
      for (const [args, extra] of [[['detect', '--config', '/nonexistent/p.yaml'], {}], [['detect'], { PACKUILON_CONFIG: '/nonexistent/p.yaml' }]] as const) {
        const result = await runCli([...args], { cwd: root.path, env: { ...env, ...extra } });
        assert.equal(result.code, 2);
        assert.match(result.stderr, /\/nonexistent\/p\.yaml: cannot read config/);
      }
    });
  });

  describe('logs', () => {
    const detectLogs = (extra: NodeJS.ProcessEnv) => spawnSync(process.execPath, [...CLI, 'detect', '--baseline'], { cwd: work, env: { ...env, LOG_LEVEL: 'info', ...extra }, encoding: 'utf8' });

    it('are JSON lines when stderr is not a terminal, and with LOG_FORMAT=json', () => {
      for (const format of [undefined, 'json', 'JSON']) {
        const out = detectLogs(format ? { LOG_FORMAT: format } : {});
        assert.equal(out.status, 0, out.stderr);
        const lines = out.stderr.trim().split('\n');
        assert.ok(lines.length > 0);
        for (const line of lines) assert.equal(typeof JSON.parse(line).msg, 'string', line);
      }
    });

    it('are readable lines with LOG_FORMAT=pretty, not JSON, one per event', () => {
      const out = detectLogs({ LOG_FORMAT: 'pretty' });
      assert.equal(out.status, 0, out.stderr);
      assert.match(out.stderr, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: index read/m);
      assert.throws(() => JSON.parse(out.stderr.split('\n')[0]!));
      assert.doesNotMatch(out.stderr, /\x1b\[/); // not a terminal: no colours
    });

    it('are pretty (and coloured) on a real pseudo-terminal; LOG_FORMAT=json still wins there', () => {
      const command = (extra: string) => `${extra} ${process.execPath} ${CLI.join(' ')} detect --baseline`;
      const run = (extra: string) => spawnSync('script', ['-qefc', command(extra), '/dev/null'], { cwd: work, env: { ...env, LOG_LEVEL: 'info' }, encoding: 'utf8' });
      const tty = run('');
      assert.equal(tty.status, 0, tty.stdout);
      assert.match(tty.stdout, /INFO.*index read/);
      assert.match(tty.stdout, /\x1b\[/);
      const json = run('LOG_FORMAT=json');
      assert.match(json.stdout, /^\{"level":"info".*"msg":"index read"\}\r?$/m);
    });

    it('a LOG_FORMAT that is neither is a usage error, exit 2', async () => {
      for (const format of ['yaml', 'pretty please', '1']) {
        const result = await cli(['detect', '--baseline'], { LOG_FORMAT: format });
        assert.equal(result.code, 2);
        assert.match(result.stderr, /LOG_FORMAT: expected json or pretty/);
      }
    });
  });

  describe('config values that cannot work are config errors (exit 2) naming the key', () => {
    it('queue.url that is not a usable AMQP URL, in direct mode as in queue mode', async () => {
      const cases: [string, RegExp][] = [
        ['not a url', /queue\.url: not a URL/],
        ['http://rabbit.example.org/', /queue\.url: expected amqp:\/\/ or amqps:\/\/, got http:/],
        ['amqp://rabbit:99999/', /queue\.url: not a URL/],
        ['amqp://', /queue\.url: (no host|not a URL)/],
        ['amqp://u%zz@rabbit/', /queue\.url: the user has a bad %-escape/],
        ['amqp://rabbit/?heartbeat=5', /queue\.url: no \?query/],
      ];
      for (const trigger of ['direct', 'queue']) {
        for (const [url, expected] of cases) {
          const result = await cli(['detect', '--config', withConfig((c) => ((c.trigger = trigger), (c.queue = { url })))]);
          assert.equal(result.code, 2, `${trigger} ${url}: ${result.stderr}`);
          assert.match(result.stderr, expected);
          assert.match(result.stderr, /edited-.*\.yaml: queue\.url/);
        }
      }
    });

    it('a password in queue.url is refused in both modes, and never echoed', async () => {
      for (const trigger of ['direct', 'queue']) {
        for (const url of ['amqp://u:hunter2@rabbit/', 'amqp://u:hun@ter2@rabbit:5672/', 'amqps://:hunter2@rabbit']) {
          const result = await cli(['detect', '--config', withConfig((c) => ((c.trigger = trigger), (c.queue = { url })))]);
          assert.equal(result.code, 2, result.stderr);
          assert.match(result.stderr, /queue\.url: a password must not be written in the config/);
          assert.doesNotMatch(result.stderr + result.stdout, /hunter2|ter2/);
        }
      }
      // The environment may carry it, but not a file that has one too.
      const fromFile = await cli(['detect', '--config', withConfig((c) => (c.queue = { url: 'amqp://u:hunter2@rabbit/' }))], { PACKUILON_QUEUE_URL: 'amqp://u:other@rabbit/' });
      assert.equal(fromFile.code, 2);
      const fromEnv = await cli(['detect', '--baseline'], { PACKUILON_QUEUE_URL: 'amqp://u:p@ss@127.0.0.1:1/' });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      const badEnv = await cli(['detect'], { PACKUILON_QUEUE_URL: 'rabbit:5672' });
      assert.equal(badEnv.code, 2);
      assert.match(badEnv.stderr, /PACKUILON_QUEUE_URL: expected amqp/);
    });

    it('repo.branch the repo does not have names the key and the repo', async () => {
      writeProfiles(profiles, { 'web02.json': { text: profileText({ hostname: 'web02', personality: 'web2' }), mtime: 5 } });
      for (const branch of ['prod', 'release/2026']) {
        const result = await cli(['detect', '--config', withConfig((c) => (c.repo = { ...c.repo, branch }))]);
        assert.equal(result.code, 2, result.stderr);
        assert.ok(result.stderr.includes(`repo.branch: the repo ${work} has no branch ${branch}`), result.stderr);
      }
      git(work, 'branch', 'other');
      const notCheckedOut = await cli(['submit', '--personality', 'x', '--config', withConfig((c) => (c.repo = { ...c.repo, branch: 'other' }))]);
      assert.equal(notCheckedOut.code, 2, notCheckedOut.stderr);
      assert.match(notCheckedOut.stderr, /repo\.branch: other is not checked out in .* \(it is on main\)/);
    });

    it('repo.branch that git would refuse', async () => {
      for (const branch of ['a..b', 'feature branch', '-rf', 'x.lock', 'a:b', 'trailing/', '@{u}']) {
        const result = await cli(['detect', '--config', withConfig((c) => (c.repo = { ...c.repo, branch }))]);
        assert.equal(result.code, 2, `${branch}: ${result.stderr}`);
        assert.match(result.stderr, /repo\.branch: .* is not a valid git branch name/);
      }
    });

    it('templates.map / templates.sources outside the image repo', async () => {
      for (const [key, path] of [['map', '../outside.json'], ['map', '/etc/packer-utils/template-map.json'], ['sources', '../../x.json'], ['sources', '/tmp/s.json']] as const) {
        const result = await cli(['render', join(profiles, 'web01.json'), '--config', withConfig((c) => (c.templates = { [key]: path }))]);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, new RegExp(`templates\\.${key}: ".*" is outside the image repo`));
      }
    });

    it('a template path that leaves the image repo, in render and in detect, without reading it', async () => {
      const outside = join(root.path, 'x.json');
      writeFileSync(outside, '{"builders": [{"type": "null", "name": "$NAME"}], "secret": "OUTSIDE-FILE"}');
      const entries = ['../x.json', '../../x.json', outside, 'templates/../../x.json', './templates/managed.json', 'templates//managed.json', 'templates\\managed.json'];
      for (const entry of entries) {
        writeFileSync(join(work, 'templates', 'template-map.json'), JSON.stringify({ DEFAULT: ['templates/managed.json'], other: [entry] }));
        git(work, 'commit', '--quiet', '-am', `map ${entry}`);
        for (const args of [['render', join(profiles, 'web01.json')], ['detect']]) {
          const result = await cli(args);
          assert.equal(result.code, 2, `${args[0]} ${entry}: ${result.stdout}${result.stderr}`);
          assert.match(result.stderr, /template-map\.json: other: template ".*" is not a path inside the image repo/);
          assert.doesNotMatch(result.stdout, /OUTSIDE-FILE/);
        }
      }
      writeFileSync(join(work, 'templates', 'template-map.json'), JSON.stringify({ DEFAULT: ['templates/managed.json'] }));
      git(work, 'commit', '--quiet', '-am', 'map back');
    });
  });

  it('a URL password with @ and : reaches neither the error line nor the logs', async () => {
    for (const password of ['Qq7p@Zz9w', 'Aa1:Bb2@Cc3', 'Xx5%40Yy6@Ww7', 'Ss3!t$@Tt4']) {
      const url = `http://aq:${password}@127.0.0.1:1/profiles/profiles-info.xml`;
      // As migrate advises: the URL with its credentials in the environment, the file without an index.
      const noIndex = withConfig((c) => (c.aquilon = { match: '' }));
      const result = await cli(['detect', '--config', noIndex], { PACKUILON_AQUILON_INDEX_URL: url, PACKUILON_AQUILON_RETRIES: '0', LOG_LEVEL: 'debug', LOG_FORMAT: 'json' });
      const config = await cli(['detect', '--config', withConfig((c) => (c.queue = { url: `amqp://u:${password}@rabbit/` }))], { LOG_LEVEL: 'debug' });
      for (const run of [result, config]) {
        assert.notEqual(run.code, 0);
        const secretParts = password.split(/[@:]/).filter((part) => part.length > 2);
        for (const part of secretParts) assert.ok(!(run.stderr + run.stdout).includes(part), `${part} leaked: ${run.stderr}`);
      }
      assert.match(result.stderr, /http:\/\/aq:\*\*\*@127\.0\.0\.1:1/);
    }
  });

  describe('bad flag values are usage errors (exit 2), refused before anything is committed', () => {
    it('submit', async () => {
      const head = git(work, 'rev-parse', 'HEAD');
      const cases: [string[], RegExp][] = [
        [['--personality', '../../x'], /--personality: "\.\.\/\.\.\/x" is not a safe name/],
        [['--personality', 'web;rm -rf /'], /--personality: .* is not a safe name/],
        [['--personality', 'web', '--os', 'sl/../..'], /--os: /],
        [['--personality', 'web', '--os-version', '7 x'], /--os-version: /],
        [['--personality', 'web', '--arch', ''], /--arch: /],
        [['--personality', 'web', '--archetype', 'a{{b}}'], /--archetype: contains Packer template delimiters/],
        [['--personality', 'web', '--domain', 'prod\u0001'], /--domain: contains a control character/],
        [['--personality', 'web', '--sandbox', 'me/{{x}}'], /--sandbox: contains Packer template delimiters/],
      ];
      for (const [flags, expected] of cases) {
        const result = await cli(['submit', ...flags]);
        assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stdout}${result.stderr}`);
        assert.match(result.stderr, expected);
        assert.equal(result.stdout, '');
      }
      assert.equal(git(work, 'rev-parse', 'HEAD'), head);
    });
  });
});
