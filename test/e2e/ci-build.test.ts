import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { git, gitEnv, tempDir } from '../support/git-repos.js';
import { localTemplate, writeImageFolder } from '../support/image-folder.js';
import { descendantsOf, isAlive, processesInGroup, waitFor } from '../support/processes.js';

const CLI = new URL('../../src/cli/run.ts', import.meta.url).pathname;
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

describe('ci build (real Packer)', () => {
  const root = tempDir('ci-build-');
  const repo = join(root.path, 'repo');
  // Nothing of the machine's own cloud or CI may leak into these runs.
  const env = { ...gitEnv, HOME: root.path, CI_COMMIT_SHA: undefined, OS_AUTH_URL: undefined, OS_CLOUD: undefined, OS_CLIENT_CONFIG_FILE: undefined };
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { cwd: repo, env: { ...env, ...extra } });
  const readJson = (path: string) => JSON.parse(readFileSync(join(repo, path), 'utf8')) as unknown;
  let head = '';

  before(() => {
    mkdirSync(join(repo, 'build-out'), { recursive: true });
    git(repo, 'init', '--quiet', '--initial-branch=main');
    writeImageFolder(repo, 'two-sl7x-x86_64', 'two-sl7x-x86_64', [
      { file: 'first.json', template: localTemplate({ name: 'first' }), vars: { image_name: 'two-sl7x-x86_64', image_key: 'two-sl7x-x86_64' } },
      {
        file: 'second.json',
        template: {
          builders: [{ type: 'file', name: 'second', target: 'build-out/second.txt', content: 'an image\n' }],
          'post-processors': [{ type: 'manifest', output: 'build-out/second-manifest.json', custom_data: { image_id: 'local-second' } }],
        },
      },
    ]);
    writeImageFolder(repo, 'fails-sl7x-x86_64', 'fails', [
      { file: 'broken.json', template: localTemplate({ name: 'broken', inline: ['echo about to fail', 'exit 3'] }), vars: { image_name: 'fails' } },
      { file: 'never.json', template: localTemplate({ name: 'never' }), vars: { image_name: 'fails' } },
    ]);
    writeImageFolder(repo, 'slow-sl7x-x86_64', 'slow', [
      { file: 'slow.json', template: localTemplate({ name: 'slow', inline: ['echo sleeping', 'sleep 30', 'echo woke'] }), vars: { image_name: 'slow' } },
    ]);
    writeImageFolder(repo, 'novars-sl7x-x86_64', 'novars', [{ file: 'managed.json', template: localTemplate({ name: 'managed' }), vars: { image_name: 'novars' } }]);
    rmVarFile('novars-sl7x-x86_64', 'managed.vars.json');
    writeImageFolder(repo, 'cloud-sl7x-x86_64', 'cloud', [
      {
        file: 'os.json',
        template: {
          variables: { image_name: '' },
          builders: [{ type: 'openstack', image_name: '{{user `image_name`}}', source_image: '00000000-0000-0000-0000-000000000000', flavor: 'm1.small', ssh_username: 'root' }],
        },
        vars: { image_name: 'cloud' },
      },
    ]);
    writeHclImage('hcl-sl7x-x86_64');
    writeFileSync(join(repo, 'images', 'not-a-folder'), 'x');
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'images');
    head = git(repo, 'rev-parse', 'HEAD');
  });
  after(() => root.remove());

  // An HCL2 build file and its .pkrvars.json, as render writes them (every variable, declared or not).
  const writeHclImage = (key: string) => {
    const dir = writeImageFolder(repo, key, 'hcl-image', []);
    const hcl = ['variable "image_name" {', '  type = string', '}', 'source "null" "hcl" {', '  communicator = "none"', '}', 'build {', '  sources = ["source.null.hcl"]',
      '  provisioner "shell-local" {', '    inline = ["echo hcl ${var.image_name}"]', '  }', '  post-processor "manifest" {', '    output = "build-out/hcl-manifest.json"',
      '    custom_data = {', '      image_id = "local-hcl"', '    }', '  }', '}', ''].join('\n');
    writeFileSync(join(dir, 'managed.pkr.hcl'), hcl);
    writeFileSync(join(dir, 'managed.pkrvars.json'), JSON.stringify({ image_name: 'hcl-image', image_key: key }));
    const manifest = JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8')) as { templates: unknown[] };
    manifest.templates = [{ template: 'templates/managed.pkr.hcl', digest: 'sha256:0', files: ['managed.pkr.hcl', 'managed.pkrvars.json'] }];
    writeFileSync(join(dir, 'image.json'), JSON.stringify(manifest));
  };
  const rmVarFile = (key: string, file: string) => rmSync(join(repo, 'images', key, file));

  it('builds every build file in template order and writes build.json and build.env exactly', async () => {
    const result = await cli(['ci', 'build', 'two-sl7x-x86_64']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'out/two-sl7x-x86_64\n');
    assert.deepEqual(readJson('out/two-sl7x-x86_64/build.json'), {
      key: 'two-sl7x-x86_64',
      commit: head,
      builds: [
        { file: 'first.json', image_name: 'two-sl7x-x86_64', image_id: 'local-first', artifact: 'Null', exit_code: 0, log: 'out/two-sl7x-x86_64/packer-first.log' },
        { file: 'second.json', image_name: 'two-sl7x-x86_64', image_id: 'local-second', artifact: 'File', exit_code: 0, log: 'out/two-sl7x-x86_64/packer-second.log' },
      ],
    });
    assert.equal(readFileSync(join(repo, 'out/two-sl7x-x86_64/build.env'), 'utf8'), 'IMAGE_KEY=two-sl7x-x86_64\nIMAGE_IDS=local-first,local-second\nIMAGE_ID=local-first\n');
    const log = readFileSync(join(repo, 'out/two-sl7x-x86_64/packer-first.log'), 'utf8').trimEnd().split('\n');
    assert.ok(log.every((line) => STAMP.test(line) && line.includes(' two-sl7x-x86_64 first.json: ')), log.join('\n'));
    assert.ok(log.some((line) => line.endsWith('first.json: packer validate -var-file=images/two-sl7x-x86_64/first.vars.json images/two-sl7x-x86_64/first.json')));
    assert.ok(log.some((line) => line.endsWith('first: building "two-sl7x-x86_64"') || line.endsWith('first: building two-sl7x-x86_64')), log.join('\n'));
    // The job log has the same lines, first file before second.
    const jobLines = result.stderr.split('\n').filter((line) => STAMP.test(line));
    const lastFirst = jobLines.map((l) => l.includes('first.json:')).lastIndexOf(true);
    assert.ok(lastFirst > 0 && jobLines.findIndex((l) => l.includes('second.json:')) > lastFirst);
    assert.ok(existsSync(join(repo, 'out/two-sl7x-x86_64/packer-first.manifest.json')));
    assert.deepEqual(readdirSync(join(repo, 'out')), ['two-sl7x-x86_64']);
  });

  it('builds an HCL2 build file with its .pkrvars.json', async () => {
    const result = await cli(['ci', 'build', 'hcl-sl7x-x86_64']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /managed\.pkr\.hcl: packer build -machine-readable -var-file=images\/hcl-sl7x-x86_64\/managed\.pkrvars\.json images\/hcl-sl7x-x86_64\/managed\.pkr\.hcl/);
    assert.match(result.stderr, /hcl hcl-image/);
    assert.equal(readFileSync(join(repo, 'out/hcl-sl7x-x86_64/build.env'), 'utf8'), 'IMAGE_KEY=hcl-sl7x-x86_64\nIMAGE_IDS=local-hcl\nIMAGE_ID=local-hcl\n');
    const record = readJson('out/hcl-sl7x-x86_64/build.json') as { builds: { log: string }[] };
    assert.equal(record.builds[0]!.log, 'out/hcl-sl7x-x86_64/packer-managed.log');
  });

  it('records CI_COMMIT_SHA when the job gives it, and writes under --out', async () => {
    const sha = 'abcdef0123456789abcdef0123456789abcdef01';
    const result = await cli(['ci', 'build', 'two-sl7x-x86_64', '--out', join(root.path, 'elsewhere')], { CI_COMMIT_SHA: sha });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${join(root.path, 'elsewhere', 'two-sl7x-x86_64')}\n`);
    const record = JSON.parse(readFileSync(join(root.path, 'elsewhere/two-sl7x-x86_64/build.json'), 'utf8')) as { commit: string; builds: { log: string }[] };
    assert.equal(record.commit, sha);
    assert.equal(record.builds[0]!.log, join(root.path, 'elsewhere/two-sl7x-x86_64/packer-first.log'));
  });

  it('a Packer failure exits 1 with its error lines and builds nothing after it', async () => {
    const result = await cli(['ci', 'build', 'fails-sl7x-x86_64']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /packuilon: ci build fails-sl7x-x86_64: packer build images\/fails-sl7x-x86_64\/broken\.json failed \(exit 1\): .*non-zero exit status: 3/);
    const record = readJson('out/fails-sl7x-x86_64/build.json') as { builds: { file: string; exit_code: number; image_id: string | null }[] };
    assert.deepEqual(record.builds.map((b) => [b.file, b.exit_code, b.image_id]), [['broken.json', 1, null]]);
    assert.equal(readFileSync(join(repo, 'out/fails-sl7x-x86_64/build.env'), 'utf8'), 'IMAGE_KEY=fails-sl7x-x86_64\nIMAGE_IDS=\nIMAGE_ID=\n');
    assert.match(readFileSync(join(repo, 'out/fails-sl7x-x86_64/packer-broken.log'), 'utf8'), /about to fail/);
  });

  it('packer.timeout stops Packer: exit 1, and no process of it is left', async () => {
    const started = Date.now();
    const result = await cli(['ci', 'build', 'slow-sl7x-x86_64'], { PACKUILON_PACKER_TIMEOUT: '2' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /slow\.json: timed out after 2 s \(packer\.timeout\) and was stopped/);
    assert.ok(Date.now() - started < 20_000);
    assert.doesNotMatch(readFileSync(join(repo, 'out/slow-sl7x-x86_64/packer-slow.log'), 'utf8'), /woke/);
  });

  it('a missing var file is a broken image folder: exit 2 naming the file, Packer not run', async () => {
    const result = await cli(['ci', 'build', 'novars-sl7x-x86_64']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /images\/novars-sl7x-x86_64\/managed\.vars\.json: missing: the var file of managed\.json/);
    assert.equal(existsSync(join(repo, 'out/novars-sl7x-x86_64')), false);
  });

  it('an unknown or hostile key is bad usage (exit 2) and touches no path', async () => {
    for (const key of ['nope-sl7x-x86_64', '../images', '..', 'not-a-folder', '$(touch pwned)', '-rf', 'a\nb']) {
      const result = await cli(['ci', 'build', '--', key]);
      assert.equal(result.code, 2, `${JSON.stringify(key)}: ${result.stderr}`);
      assert.match(result.stderr, /ci build: (no image|.* is not an image key)/);
    }
    assert.equal(existsSync(join(repo, 'pwned')), false);
    assert.deepEqual(readdirSync(join(repo, 'out')).sort(), ['fails-sl7x-x86_64', 'hcl-sl7x-x86_64', 'slow-sl7x-x86_64', 'two-sl7x-x86_64']);
  });

  it('an openstack build file with no cloud is validated -syntax-only, with a warning', async () => {
    const result = await cli(['ci', 'build', 'cloud-sl7x-x86_64']);
    const log = readFileSync(join(repo, 'out/cloud-sl7x-x86_64/packer-os.log'), 'utf8');
    assert.match(log, /warning: no cloud configured \(no OS_AUTH_URL, OS_CLOUD or clouds\.yaml\): packer validate -syntax-only/);
    assert.match(log, /os\.json: packer validate -syntax-only -var-file=/);
    assert.match(log, /os\.json: packer build -machine-readable/);
    // Validation passed; the build itself needs a cloud and fails: exit 1, not a config error.
    assert.equal(result.code, 1, result.stderr);
  });

  it('with a cloud configured (OS_AUTH_URL) the openstack build file gets a real validation, which logs in', async () => {
    // Nothing listens on port 9: the log-in fails, so the validation did try to reach Keystone.
    const result = await cli(['ci', 'build', 'cloud-sl7x-x86_64'], { OS_AUTH_URL: 'http://127.0.0.1:9/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_NAME: 't', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default' });
    assert.equal(result.code, 1);
    const log = readFileSync(join(repo, 'out/cloud-sl7x-x86_64/packer-os.log'), 'utf8');
    assert.doesNotMatch(log, /syntax-only|warning: no cloud/);
    assert.match(result.stderr, /packuilon: ci build cloud-sl7x-x86_64: packer validate images\/cloud-sl7x-x86_64\/os\.json failed \(exit 1\): .*connection refused/);
    assert.doesNotMatch(log, /packer build -machine-readable/);
  });

  it('a hostile image name and metadata stay data: in JSON, in the environment, never in a shell or a path', async () => {
    const hostile = `x"; touch pwned; echo "$(touch pwned2)\`touch pwned3\`'../../etc\nnewline`;
    const key = 'hostile-sl7x-x86_64';
    writeImageFolder(repo, key, hostile, [
      {
        file: 'local.json',
        template: localTemplate({ name: 'local', inline: ['printf %s "$IMAGE_NAME" > build-out/name.txt'] }),
        vars: { image_name: hostile, image_key: key },
      },
    ]);
    const result = await cli(['ci', 'build', key]);
    assert.equal(result.code, 0, result.stderr);
    const record = readJson(`out/${key}/build.json`) as { builds: { image_name: string }[] };
    assert.equal(record.builds[0]!.image_name, hostile);
    assert.equal(readFileSync(join(repo, 'build-out/name.txt'), 'utf8'), hostile);
    for (const name of ['pwned', 'pwned2', 'pwned3']) assert.equal(existsSync(join(repo, name)), false, name);
    assert.deepEqual(readdirSync(join(repo, 'out', key)).sort(), ['build.env', 'build.json', 'packer-local.log', 'packer-local.manifest.json']);
  });

  it('history KEY shows the build that ci build recorded', async () => {
    const text = await cli(['history', 'two-sl7x-x86_64']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /build of [0-9a-f]{10}: first\.json → local-first \(exit 0\), second\.json → local-second \(exit 0\)/);
    const json = await cli(['history', 'two-sl7x-x86_64', '--json']);
    const entries = JSON.parse(json.stdout) as { commit: string; builds?: { file: string; image_id: string }[] }[];
    assert.deepEqual(entries.find((e) => e.builds)?.builds?.map((b) => b.image_id), ['local-first', 'local-second']);
  });

  it('packer not installed: exit 1 saying so and how to install it', async () => {
    const result = await cli(['ci', 'build', 'two-sl7x-x86_64'], { PATH: '/nonexistent' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /packuilon: packer: not installed \(not found on PATH\); install it: apt-get install packer/);
    const record = readJson('out/two-sl7x-x86_64/build.json') as { builds: { exit_code: number; image_id: string | null }[] };
    assert.deepEqual(record.builds.map((b) => [b.exit_code, b.image_id]), [[127, null]]);
    assert.equal(readFileSync(join(repo, 'out/two-sl7x-x86_64/build.env'), 'utf8'), 'IMAGE_KEY=two-sl7x-x86_64\nIMAGE_IDS=\nIMAGE_ID=\n');
  });

  it('packuilon init git-ignores out/, where ci build writes', async () => {
    const scaffold = join(root.path, 'scaffold');
    const init = await runCli(['init', scaffold, '--index-dir', root.path], { cwd: root.path, env });
    assert.equal(init.code, 0, init.stderr);
    assert.ok(readFileSync(join(scaffold, '.gitignore'), 'utf8').split('\n').includes('out/'));
  });

  it('a cancelled job (SIGTERM to the real CLI) stops Packer, exits 1, and leaves no process behind', async () => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, 'ci', 'build', 'slow-sl7x-x86_64'], { cwd: repo, env: { ...env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    assert.ok(await waitFor(() => stderr.includes('slow: sleeping'), 30_000), stderr);
    const running = descendantsOf(child.pid!);
    const packer = running.find((p) => p.command === 'packer' && p.ppid === child.pid);
    const sleep = running.find((p) => p.command === 'sleep');
    assert.ok(packer && sleep, running.map((p) => `${p.pid} ${p.command}`).join(', '));
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /Cancelling build after receiving terminated/);
    assert.match(stderr, /slow\.json: cancelled; Packer was stopped/);
    assert.ok(await waitFor(() => running.every((p) => !isAlive(p.pid)), 5000), running.filter((p) => isAlive(p.pid)).map((p) => `${p.pid} ${p.command}`).join(', '));
    assert.deepEqual(processesInGroup(packer.pid), []);
    const record = readJson('out/slow-sl7x-x86_64/build.json') as { builds: { exit_code: number }[] };
    assert.notEqual(record.builds[0]!.exit_code, 0);
  });
});
