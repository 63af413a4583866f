/**
 * `packuilon detect` in direct mode at many images, against git's own floor.
 *
 *   npm run bench -- --scale-only            full: N=20,000 hosts over 3,800 image keys, all matching,
 *                                            the seed's two DEFAULT templates; rewrites its block of docs/benchmarks.md
 *   npm run bench -- --scale-only --quick    N=2,000 over 380 keys; prints only
 *   BENCH_RUNS=N                             runs per scenario (default: first import 3, K=1,000 5)
 *   BENCH_CHECKOUT=true|false                repo.checkout of the measured config (default: both, side by side)
 *   BENCH_NODE_ARGS="--cpu-prof …"            extra node flags for the measured CLI runs
 *   --k-only                                 the K=1,000 runs alone, from the first import an earlier
 *                                            run kept (.tmp/bench/run/scale-k-*); prints only
 *
 * Scenarios (each run is the real CLI as a child process, spawn to exit, against a fresh
 * or restored repo + bare remote + state dir; the loopback Aquilon server serves the site):
 *   first import: `detect` with no state and no image yet commits every image.
 *   K=1,000: after a first import, K profiles change anywhere on the site (plus 100 recompiles).
 * The floor, measured in the same run right after each project run: the project's own new
 * commits (`git fast-export` of base..main on the remote, prepared outside the timing) written
 * straight into `git fast-import` in the restored clone and pushed — the git work the same
 * commit shapes cannot avoid. The ratio project / floor is taken run by run.
 * Every run is checked: one commit per changed image on the remote, and its Profile: trailers
 * equal the changed profiles exactly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { generateSite, hash32, INDEX_NAME, mutateSite, SEED_DEFAULT_TEMPLATES, writeRepoMaps } from './gen-site.js';
import { startAquilonServer, type AquilonServer } from '../support/aquilon-server.js';
import { gitEnv } from '../support/git-repos.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BENCH_DIR = join(ROOT, '.tmp', 'bench');
const CLI_COPY = join(BENCH_DIR, 'cli-scale');
const CLI = process.env.BENCH_CLI ? resolve(process.env.BENCH_CLI) : join(CLI_COPY, 'bin', 'packuilon.mjs');
const PRELOAD = pathToFileURL(join(ROOT, 'test', 'bench', 'rss-preload.mjs')).href;
const DOCS = join(ROOT, 'docs', 'benchmarks.md');
const TARGETS = { firstImportSeconds: 20, firstImportRssMb: 300, floorRatio: 1.3 };

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, 'k-only': { type: 'boolean', default: false }, 'no-docs': { type: 'boolean', default: false } } });
const quick = flags.quick === true;
const envRuns = process.env.BENCH_RUNS ? Number(process.env.BENCH_RUNS) : undefined;
const params = {
  hosts: quick ? 2000 : 20000,
  imageKeys: quick ? 380 : 3800,
  seed: 1,
  k: quick ? 100 : 1000,
  touched: 100,
  firstRuns: envRuns ?? (quick ? 1 : 3),
  kRuns: envRuns ?? (quick ? 3 : 5),
};
const checkouts: boolean[] = process.env.BENCH_CHECKOUT ? [process.env.BENCH_CHECKOUT === 'true'] : [false, true];
const kOnly = flags['k-only'] === true;
const writeDocs = !quick && !kOnly && !process.env.BENCH_CLI && !process.env.BENCH_CHECKOUT && flags['no-docs'] !== true;
const log = (text: string) => process.stderr.write(`[scale] ${text}\n`);

const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, env: gitEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1024 * 1024 * 1024 }).trim();
const git = (dir: string, ...args: string[]) => sh('git', args, dir);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmtS = (s: number) => (s < 1 ? s.toFixed(3) : s.toFixed(2));
const fmtInt = (n: number) => n.toLocaleString('en-GB');
const mib = (kib: number | undefined) => (kib === undefined ? '—' : (kib / 1024).toFixed(0));

// ---------------------------------------------------------------- site

interface Site { pristine: string; work: string; keyOf: Map<string, string>; bytes: number }

function ensureSite(): Site {
  const generator = readFileSync(join(ROOT, 'test', 'bench', 'gen-site.ts'), 'utf8');
  const base = join(BENCH_DIR, `scale-n${params.hosts}-k${params.imageKeys}-s${params.seed}-g${hash32(generator).toString(16)}`);
  const pristine = join(base, 'pristine');
  const work = join(base, 'work');
  const meta = join(base, 'site.json');
  if (!existsSync(meta)) {
    log(`generating ${fmtInt(params.hosts)} profiles over ${fmtInt(params.imageKeys)} image keys (once; cached under ${base})`);
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base, { recursive: true });
    const result = generateSite({ dir: pristine, hosts: params.hosts, imageKeys: params.imageKeys, matchFraction: 0.05, seed: params.seed });
    writeFileSync(meta, JSON.stringify({ profiles: result.profiles.map((p) => [p.name, p.imageKey]), bytes: result.bytes }));
  }
  const parsed = JSON.parse(readFileSync(meta, 'utf8')) as { profiles: [string, string][]; bytes: number };
  rmSync(work, { recursive: true, force: true });
  sh('cp', ['-a', '--reflink=auto', pristine, work]);
  return { pristine, work, keyOf: new Map(parsed.profiles), bytes: parsed.bytes };
}

function restoreSite(site: Site, names: string[]): void {
  for (const name of [...names, INDEX_NAME]) {
    const from = join(site.pristine, name);
    copyFileSync(from, join(site.work, name));
    const st = statSync(from);
    utimesSync(join(site.work, name), st.atime, st.mtime);
  }
}

// ---------------------------------------------------------------- runs

interface Child { code: number; seconds: number; rssKib: number | undefined; stdout: string; stderr: string }

async function runCli(args: string[], tag: string): Promise<Child> {
  const dir = join(BENCH_DIR, 'out-scale');
  mkdirSync(dir, { recursive: true });
  const [rss, out, err] = ['rss', 'stdout', 'stderr'].map((ext) => join(dir, `${tag}.${ext}`)) as [string, string, string];
  rmSync(rss, { force: true });
  const outFd = openSync(out, 'w');
  const errFd = openSync(err, 'w');
  const started = process.hrtime.bigint();
  // BENCH_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=…", to see where a run's time goes.
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', PRELOAD, CLI, ...args], { cwd: ROOT, env: { ...gitEnv, BENCH_RSS_FILE: rss }, stdio: ['ignore', outFd, errFd] });
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  closeSync(outFd);
  closeSync(errFd);
  const rssText = existsSync(rss) ? readFileSync(rss, 'utf8').trim() : '';
  return { code: code ?? 128, seconds, rssKib: rssText ? Number(rssText) : undefined, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

/** A fresh image repo (maps + the seed's two templates, pushed) with an empty state dir and a config. */
function freshRepo(dir: string, server: AquilonServer, checkout: boolean): { config: string; work: string; remote: string } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  const work = join(dir, 'work');
  const remote = join(dir, 'remote.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  git(dir, 'init', '--quiet', '--initial-branch=main', work);
  git(work, 'remote', 'add', 'origin', remote);
  writeRepoMaps(work, SEED_DEFAULT_TEMPLATES);
  git(work, 'add', '-A');
  git(work, 'commit', '--quiet', '-m', 'image repo: templates and maps');
  git(work, 'push', '--quiet', 'origin', 'main');
  const config = join(dir, 'packuilon.yaml');
  writeFileSync(config, stringify({
    aquilon: { index_url: server.indexUrl, match: '' },
    state_dir: join(dir, 'state'),
    trigger: 'direct',
    repo: { path: work, remote: 'origin', branch: 'main', ...(process.env.BENCH_CHECKOUT === 'omit' ? {} : { checkout }) },
    templates: { map: 'templates/template-map.json', sources: 'images/source-images.json' },
  }));
  return { config, work, remote };
}

/** The new commits on the remote: their count, and every Profile: trailer is one changed profile. */
function check(remote: string, base: string, expectedProfiles: string[], keyOf: Map<string, string>): { commits: number; problems: string[] } {
  const range = `${base}..main`;
  const commits = Number(git(remote, 'rev-list', '--count', range));
  const seen = git(remote, 'log', '--format=%(trailers:key=Profile,valueonly)', range).split('\n').filter(Boolean);
  const expectedCommits = new Set(expectedProfiles.map((n) => keyOf.get(n))).size;
  const problems: string[] = [];
  if (commits !== expectedCommits) problems.push(`${commits} commits, expected ${expectedCommits}`);
  const want = new Set(expectedProfiles);
  const got = new Set(seen);
  const missed = expectedProfiles.filter((n) => !got.has(n)).length;
  const spurious = seen.length - got.size + [...got].filter((n) => !want.has(n)).length;
  if (missed || spurious) problems.push(`missed ${missed}, spurious ${spurious}`);
  return { commits, problems };
}

/**
 * git's floor for the same commits: the project's new commits exported from the remote
 * (outside the timing), then, in `repoDir` restored to `base`, `git fast-import` of them
 * and one push, timed. The branch is moved the cheapest way (fast-import writes the ref).
 */
async function floorOf(remote: string, base: string, restore: () => { work: string }): Promise<number> {
  const stream = join(BENCH_DIR, 'out-scale', 'floor.fi');
  writeFileSync(stream, execFileSync('git', ['fast-export', '--reference-excluded-parents', `^${base}`, 'refs/heads/main'], { cwd: remote, env: gitEnv, maxBuffer: 2 * 1024 * 1024 * 1024 }));
  const { work } = restore();
  const started = process.hrtime.bigint();
  const input = openSync(stream, 'r');
  const importer = spawn('git', ['fast-import', '--quiet'], { cwd: work, env: gitEnv, stdio: [input, 'ignore', 'inherit'] });
  const [code] = (await once(importer, 'exit')) as [number | null];
  closeSync(input);
  if (code !== 0) throw new Error(`floor: git fast-import exited ${code}`);
  const pusher = spawn('git', ['push', '--quiet', 'origin', 'main'], { cwd: work, env: gitEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  const [pushCode] = (await once(pusher, 'exit')) as [number | null];
  if (pushCode !== 0) throw new Error(`floor: git push exited ${pushCode}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

interface Measured { seconds: number; rssKib: number | undefined; floor: number; commits: number; problems: string[]; progressEvents: number }

const snapshot = (dir: string) => {
  rmSync(join(dir, 'snapshot'), { recursive: true, force: true });
  mkdirSync(join(dir, 'snapshot'));
  for (const part of ['work', 'remote.git', 'state']) sh('cp', ['-a', join(dir, part), join(dir, 'snapshot', part)]);
};
const restore = (dir: string) => {
  for (const part of ['work', 'remote.git', 'state']) {
    rmSync(join(dir, part), { recursive: true, force: true });
    sh('cp', ['-a', join(dir, 'snapshot', part), join(dir, part)]);
  }
  sh('sync', []);
  return { work: join(dir, 'work') };
};

async function firstImport(site: Site, server: AquilonServer, checkout: boolean, run: number, keepAs?: string): Promise<Measured> {
  const dir = join(BENCH_DIR, 'run', `scale-first-${checkout ? 'co' : 'noco'}`);
  const repo = freshRepo(dir, server, checkout);
  const base = git(repo.remote, 'rev-parse', 'main');
  snapshot(dir);
  sh('sync', []);
  const child = await runCli(['detect', '--config', repo.config, '--json'], `first-${checkout}-${run}`);
  const problems = child.code === 0 ? [] : [`exit ${child.code}: ${child.stderr.trim().split('\n').slice(-2).join(' | ')}`];
  const { commits, problems: wrong } = check(repo.remote, base, [...site.keyOf.keys()], site.keyOf);
  problems.push(...wrong);
  const progressEvents = child.stderr.split('\n').filter((line) => line.includes('"progress"')).length;
  if (keepAs) {
    // The K scenario starts from this first import: keep it.
    rmSync(keepAs, { recursive: true, force: true });
    sh('cp', ['-a', dir, keepAs]);
    rmSync(join(keepAs, 'snapshot'), { recursive: true, force: true });
    writeFileSync(join(keepAs, 'packuilon.yaml'), readFileSync(repo.config, 'utf8').replaceAll(dir, keepAs));
    git(join(keepAs, 'work'), 'remote', 'set-url', 'origin', join(keepAs, 'remote.git'));
    snapshot(keepAs);
  }
  const floor = await floorOf(repo.remote, base, () => restore(dir));
  return { seconds: child.seconds, rssKib: child.rssKib, floor, commits, problems, progressEvents };
}

async function changedK(site: Site, dir: string, run: number, checkout: boolean): Promise<Measured> {
  restore(dir);
  const config = join(dir, 'packuilon.yaml');
  const remote = join(dir, 'remote.git');
  const base = git(remote, 'rev-parse', 'main');
  const change = mutateSite({ dir: site.work, changed: params.k, touched: params.touched, seed: params.seed });
  sh('sync', []);
  const child = await runCli(['detect', '--config', config, '--json'], `k-${checkout}-${run}`);
  restoreSite(site, [...change.changed, ...change.touched]);
  const problems = child.code === 0 ? [] : [`exit ${child.code}: ${child.stderr.trim().split('\n').slice(-2).join(' | ')}`];
  const { commits, problems: wrong } = check(remote, base, change.changed, site.keyOf);
  problems.push(...wrong);
  const floor = await floorOf(remote, base, () => restore(dir));
  return { seconds: child.seconds, rssKib: child.rssKib, floor, commits, problems, progressEvents: 0 };
}

// ---------------------------------------------------------------- report

function row(label: string, runs: Measured[]): string {
  const s = runs.map((r) => r.seconds);
  const f = runs.map((r) => r.floor);
  const ratios = runs.map((r) => r.seconds / r.floor);
  const rss = runs.map((r) => r.rssKib).filter((x): x is number => x !== undefined);
  const problems = runs.flatMap((r) => r.problems).length;
  return `| ${label} | ${runs.length} | ${fmtInt(runs[0]!.commits)} | **${fmtS(median(s))}** | ${fmtS(Math.min(...s))}–${fmtS(Math.max(...s))} | ${mib(rss.length ? median(rss) : undefined)} | ${mib(rss.length ? Math.max(...rss) : undefined)} | ${fmtS(median(f))} | **${median(ratios).toFixed(2)}×** | ${problems ? `**${problems} problems**` : 'ok'} |`;
}

async function main(): Promise<number> {
  const started = Date.now();
  if (!process.env.BENCH_CLI) {
    rmSync(CLI_COPY, { recursive: true, force: true });
    mkdirSync(CLI_COPY, { recursive: true });
    for (const part of ['bin', 'dist', 'package.json']) sh('cp', ['-a', join(ROOT, part), join(CLI_COPY, part)]);
  }
  const site = ensureSite();
  const server = await startAquilonServer({ dir: site.work });
  const results: { label: string; runs: Measured[] }[] = [];
  try {
    // The K scenario of each setting starts from a first import made with that setting:
    // a clone that ran with checkout: false has a stale work tree that merge --ff-only refuses to move.
    const kDirOf = (checkout: boolean) => join(BENCH_DIR, 'run', `scale-k-${checkout ? 'co' : 'noco'}`);
    for (const checkout of kOnly ? [] : checkouts) {
      const runs: Measured[] = [];
      for (let i = 0; i < params.firstRuns; i++) {
        const keep = i === 0 ? kDirOf(checkout) : undefined;
        const r = await firstImport(site, server, checkout, i, keep);
        runs.push(r);
        log(`first import, checkout ${checkout}, run ${i + 1}: ${fmtS(r.seconds)} s, ${mib(r.rssKib)} MiB, floor ${fmtS(r.floor)} s, ${r.commits} commits, ${r.progressEvents} progress events${r.problems.length ? ` — ${r.problems.join('; ')}` : ''}`);
      }
      results.push({ label: `first import (every profile new), \`repo.checkout: ${checkout}\``, runs });
    }
    for (const checkout of checkouts) {
      if (!existsSync(join(kDirOf(checkout), 'snapshot'))) throw new Error(`--k-only: no first import kept in ${kDirOf(checkout)}: run the scale bench once without it`);
      // The kept config names the loopback server of the run that kept it.
      const config = join(kDirOf(checkout), 'packuilon.yaml');
      const kept = parse(readFileSync(config, 'utf8')) as { aquilon: { index_url: string } };
      writeFileSync(config, stringify({ ...kept, aquilon: { ...kept.aquilon, index_url: server.indexUrl } }));
    }
    const kRuns = new Map<boolean, Measured[]>(checkouts.map((c) => [c, []]));
    for (let i = 0; i < params.kRuns; i++) {
      // Alternate the order so neither setting always runs first.
      for (const checkout of i % 2 ? [...checkouts].reverse() : checkouts) {
        const r = await changedK(site, kDirOf(checkout), i, checkout);
        kRuns.get(checkout)!.push(r);
        log(`K=${params.k}, checkout ${checkout}, run ${i + 1}: ${fmtS(r.seconds)} s, ${mib(r.rssKib)} MiB, floor ${fmtS(r.floor)} s (${(r.seconds / r.floor).toFixed(2)}×), ${r.commits} commits${r.problems.length ? ` — ${r.problems.join('; ')}` : ''}`);
      }
    }
    for (const checkout of checkouts) results.push({ label: `K=${fmtInt(params.k)} changed (+${params.touched} recompiles), \`repo.checkout: ${checkout}\``, runs: kRuns.get(checkout)! });
  } finally {
    await server.close();
  }
  const ok = results.every((r) => r.runs.every((x) => x.problems.length === 0));
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const lines = [
    `Produced by \`npm run bench -- --scale-only${quick ? ' --quick' : ''}\` (test/bench/scale-bench.ts) on ${date} (${((Date.now() - started) / 60000).toFixed(1)} min).`,
    '',
    `Site: ${fmtInt(params.hosts)} synthetic profiles (gen-site.ts, seed ${params.seed}, ${(site.bytes / 1e6).toFixed(0)} MB) over ${fmtInt(new Set(site.keyOf.values()).size)} image keys, config \`match: ""\` (all), the seed's two DEFAULT templates (${SEED_DEFAULT_TEMPLATES.join(', ')}) for every image; HTTP from the loopback Aquilon server; bare remote on the same disk. Wall time spawn → exit of the real CLI; peak RSS is the CLI's own (git's processes not included). Floor: the same commits (\`git fast-export\` of the project's result, prepared untimed) into \`git fast-import\` in the restored clone plus one \`git push\`, timed right after each project run; the ratio is per run, its median shown. The machine (2 cores) was shared with other work while this ran: medians, and ratios within one run.`,
    '',
    '| scenario | runs | commits | median s | min–max s | peak RSS median MiB | peak RSS max MiB | floor median s | project / floor | checks |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
    ...results.map((r) => row(r.label, r.runs)),
    '',
    `Targets: first import < ${TARGETS.firstImportSeconds} s and < ${TARGETS.firstImportRssMb} MiB peak RSS; K=1,000 ≤ ${TARGETS.floorRatio}× the floor. Checks: one commit per changed image on the remote; the \`Profile:\` trailers equal the changed profiles exactly (first import: all ${fmtInt(params.hosts)}).`,
    '',
  ];
  const block = lines.join('\n');
  process.stdout.write(`\n${block}\n`);
  if (writeDocs) {
    const begin = '<!-- scale:begin: generated by `npm run bench -- --scale-only` (test/bench/scale-bench.ts); edits between these markers are overwritten -->';
    const end = '<!-- scale:end -->';
    const current = readFileSync(DOCS, 'utf8');
    const a = current.indexOf('<!-- scale:begin');
    const b = current.indexOf(end);
    const generated = `${begin}\n\n${block}\n${end}`;
    writeFileSync(DOCS, a >= 0 && b > a ? `${current.slice(0, a)}${generated}${current.slice(b + end.length)}` : `${current.trimEnd()}\n\n## Direct mode at scale: first import, and K=1,000 against git's floor\n\n${generated}\n`);
    log(`wrote ${DOCS}`);
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[scale] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
