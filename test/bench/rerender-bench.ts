/**
 * `packuilon rerender` after a template change on the generated 20,000-host site:
 * every image uses the changed template, so every image is re-rendered and committed
 * (one commit each) and pushed to a bare remote.
 *
 *   node --import tsx test/bench/rerender-bench.ts [--quick]      (scripts/bench.sh --rerender-only)
 *   BENCH_RUNS=N BENCH_HOSTS=N BENCH_IMAGE_KEYS=N
 *
 * Once (cached under .tmp/bench/rerender-…): the site (test/bench/gen-site.ts, every host matching)
 * and its first import by `packuilon detect`. Each run: restore the work repo, bare remote and
 * state; an operator's commit of templates/unmanaged.json pushed from another clone; then the
 * timed child process `packuilon rerender --json`, spawn to exit. Every run is checked: one new
 * commit per image on the remote, each `Trigger: rerender`, and the new template in every image.
 */
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { generateSite, hash32, writeRepoMaps } from './gen-site.js';
import { gitEnv } from '../support/git-repos.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'packuilon.mjs');
// Not strict: scripts/bench.sh passes the other benches' flags (--profile, --only) to every bench.
const { values: flags } = parseArgs({ options: { quick: { type: 'boolean' } }, strict: false });
const quick = flags.quick === true;
const hosts = Number(process.env.BENCH_HOSTS ?? (quick ? 2_000 : 20_000));
const imageKeys = Number(process.env.BENCH_IMAGE_KEYS ?? (quick ? 300 : 3_800));
const runs = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3));
const log = (text: string) => process.stderr.write(`[rerender-bench] ${text}\n`);
const sh = (cwd: string, cmd: string, ...args: string[]) => execFileSync(cmd, args, { cwd, env: gitEnv, encoding: 'utf8', maxBuffer: 1 << 30 }).trim();
const git = (cwd: string, ...args: string[]) => sh(cwd, 'git', ...args);

async function cli(args: string[]): Promise<{ code: number; seconds: number; stdout: string; stderr: string }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...gitEnv, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code: code ?? 128, seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout, stderr };
}

async function setUp(): Promise<{ dir: string; config: string; images: number }> {
  const generator = readFileSync(join(ROOT, 'test', 'bench', 'gen-site.ts'), 'utf8');
  const dir = join(ROOT, '.tmp', 'bench', `rerender-n${hosts}-k${imageKeys}-g${hash32(generator).toString(16)}`);
  const config = join(dir, 'packuilon.yaml');
  const done = join(dir, 'imported.json');
  if (existsSync(done)) return { dir, config, images: (JSON.parse(readFileSync(done, 'utf8')) as { images: number }).images };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`generating ${hosts} hosts over ${imageKeys} image keys (once; cached in ${dir})`);
  generateSite({ dir: join(dir, 'site'), hosts, imageKeys, matchFraction: 1 });
  const work = join(dir, 'snapshot', 'work');
  const remote = join(dir, 'snapshot', 'remote.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  git(dir, 'init', '--quiet', '--initial-branch=main', work);
  git(work, 'remote', 'add', 'origin', remote);
  writeRepoMaps(work);
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'image repo: templates and maps');
  git(work, 'push', '--quiet', 'origin', 'main');
  writeFileSync(config, stringify({ aquilon: { index_dir: join(dir, 'site'), match: '' }, state_dir: join(dir, 'state'), repo: { path: join(dir, 'work'), remote: 'origin', branch: 'main' } }));
  sh(dir, 'cp', '-a', work, join(dir, 'work'));
  rmSync(join(dir, 'snapshot', 'work'), { recursive: true });
  sh(dir, 'mv', remote, join(dir, 'remote.git'));
  git(join(dir, 'work'), 'remote', 'set-url', 'origin', join(dir, 'remote.git'));
  log('first import (detect), once');
  const first = await cli(['detect', '--config', config, '--json']);
  if (first.code !== 0) throw new Error(`first import failed: ${first.stderr.slice(-2000)}`);
  const images = git(join(dir, 'work'), 'ls-tree', '--name-only', 'HEAD', 'images/').split('\n').filter((path) => !path.endsWith('.json')).length;
  log(`first import: ${images} images in ${first.seconds.toFixed(1)} s`);
  for (const part of ['work', 'remote.git', 'state']) sh(dir, 'cp', '-a', join(dir, part), join(dir, 'snapshot', part));
  writeFileSync(done, JSON.stringify({ images }));
  return { dir, config, images };
}

function restore(dir: string): void {
  for (const part of ['work', 'remote.git', 'state', 'human']) rmSync(join(dir, part), { recursive: true, force: true });
  for (const part of ['work', 'remote.git', 'state']) sh(dir, 'cp', '-a', join(dir, 'snapshot', part), join(dir, part));
}

async function main(): Promise<void> {
  const { dir, config, images } = await setUp();
  const seconds: number[] = [];
  for (let run = 1; run <= runs; run++) {
    restore(dir);
    const human = join(dir, 'human');
    git(dir, 'clone', '--quiet', join(dir, 'remote.git'), human);
    const template = join(human, 'templates', 'unmanaged.json');
    // A legacy template ($METADATA is not JSON): edited as text, as an operator would.
    writeFileSync(template, readFileSync(template, 'utf8').replace('{', `{\n  "description": "template fix ${run}",`));
    git(human, 'commit', '--quiet', '-am', 'templates/unmanaged.json: fix');
    git(human, 'push', '--quiet', 'origin', 'main');
    const before = Number(git(join(dir, 'remote.git'), 'rev-list', '--count', 'main'));
    const result = await cli(['rerender', '--config', config, '--json']);
    if (result.code !== 0) throw new Error(`rerender exited ${result.code}: ${result.stderr.slice(-2000)}`);
    const report = JSON.parse(result.stdout) as { commits: number };
    const after = Number(git(join(dir, 'remote.git'), 'rev-list', '--count', 'main'));
    const triggers = git(join(dir, 'remote.git'), 'log', `-${report.commits}`, '--format=%(trailers:key=Trigger,valueonly)', 'main').split('\n').filter(Boolean);
    if (report.commits !== images || after - before !== images || triggers.some((t) => t !== 'rerender')) {
      throw new Error(`run ${run}: ${report.commits} commits reported, ${after - before} on the remote, ${images} images expected`);
    }
    seconds.push(result.seconds);
    log(`run ${run}: ${images} images re-rendered and pushed in ${result.seconds.toFixed(2)} s`);
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  process.stdout.write(`rerender: ${hosts} hosts, ${images} images (every one uses the changed template): median ${median.toFixed(2)} s of ${runs} runs (min ${sorted[0]!.toFixed(2)}, max ${sorted[sorted.length - 1]!.toFixed(2)})\n`);
}

await main();
