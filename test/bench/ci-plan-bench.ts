/**
 * `packuilon ci plan` on a big image repo: 4,000 image folders and a range of
 * 1,000 commits (image changes by detect, re-renders, a template change).
 *
 *   node --import tsx test/bench/ci-plan-bench.ts            N=4,000 images, R=1,000 commits, 7 runs
 *   BENCH_IMAGES=… BENCH_COMMITS=… BENCH_RUNS=… (same)       other sizes
 *
 * The repo is written with one `git fast-import` (cached under .tmp/bench/ci-plan-N-R);
 * every run is the real CLI as a child process (`node bin/packuilon.mjs ci plan --from
 * A --to B --json`), spawn to exit; the plan's image count is checked on every run.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitEnv } from '../support/git-repos.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES = Number(process.env.BENCH_IMAGES ?? 4000);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const DIR = join(ROOT, '.tmp', 'bench', `ci-plan-${IMAGES}-${COMMITS}`);
const CLI = join(ROOT, 'bin', 'packuilon.mjs');

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const TEMPLATE = '{ "builders": [ { "type": "null", "communicator": "none", "name": "$NAME" } ] }\n';
const TEMPLATE2 = TEMPLATE.replace('"none"', '"none", "v": 2');
const keyOf = (i: number) => `p${String(i).padStart(4, '0')}-sl7x-x86_64`;

function files(key: string, template: string, profile: string, digest: string): Map<string, string> {
  const manifest = {
    image_key: key, image_name: key, source_key: 'sl7x-x86_64', source_image: 'img-sl7', metadata: { AQ_PERSONALITY: key },
    profiles: { [profile]: digest }, templates: [{ template: 'templates/managed.json', digest: sha256(template), files: ['managed.json'] }], generator: 'bench',
  };
  return new Map([
    [`images/${key}/managed.json`, template.replace('$NAME', `${key} ${digest}`)],
    [`images/${key}/image.json`, `${JSON.stringify(manifest, null, 2)}\n`],
  ]);
}

/** One fast-import stream: the site, every image, then COMMITS commits of which the plan covers all. */
function generate(): { from: string; to: string; expected: number } {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  spawnSync('git', ['init', '--quiet', '--initial-branch=main', DIR], { env: gitEnv });
  const chunks: string[] = [];
  let mark = 0;
  let time = 1_700_000_000;
  const commit = (message: string, changes: Map<string, string>) => {
    mark++;
    chunks.push(`commit refs/heads/main\nmark :${mark}\ncommitter Bench <bench@example.org> ${time++} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    for (const [path, content] of changes) chunks.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  };
  const base = new Map<string, string>([
    ['templates/managed.json', TEMPLATE],
    ['templates/template-map.json', '{ "DEFAULT": ["templates/managed.json"] }\n'],
    ['images/source-images.json', '{ "sl7x-x86_64": "img-sl7" }\n'],
  ]);
  for (let i = 0; i < IMAGES; i++) for (const [path, content] of files(keyOf(i), TEMPLATE, `h${i}.json`, sha256(`h${i}-0`))) base.set(path, content);
  commit('site and every image', base);
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let c = 0; c < COMMITS; c++) {
    if (c === COMMITS / 2) {
      commit('templates: managed.json v2', new Map([['templates/managed.json', TEMPLATE2]]));
      continue;
    }
    const i = next() % IMAGES;
    const digest = sha256(`h${i}-${c}`);
    const template = c > COMMITS / 2 ? TEMPLATE2 : TEMPLATE;
    commit(`images(${keyOf(i)}): rebuild for h${i}.json\n\nProfile: h${i}.json\nProfile-Digest: ${digest}\nTrigger: detect\n`, files(keyOf(i), template, `h${i}.json`, digest));
  }
  const result = spawnSync('git', ['fast-import', '--quiet', `--export-marks=${join(DIR, '.git', 'bench-marks')}`], { cwd: DIR, env: gitEnv, input: chunks.join(''), maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`fast-import: ${result.stderr.toString()}`);
  const rev = (ref: string) => spawnSync('git', ['rev-parse', ref], { cwd: DIR, env: gitEnv, encoding: 'utf8' }).stdout.trim();
  const toSha = rev('main');
  const fromSha = rev(`main~${COMMITS}`);
  spawnSync('git', ['reset', '--quiet', '--hard'], { cwd: DIR, env: gitEnv });
  writeFileSync(join(DIR, 'packuilon.yaml'), 'repo: { path: . }\n');
  // Every image is in the plan: changed (build) or stale (template v2 without a re-render).
  writeFileSync(join(DIR, '.git', 'bench-range'), `${fromSha} ${toSha} ${IMAGES}\n`);
  return { from: fromSha, to: toSha, expected: IMAGES };
}

function cached(): { from: string; to: string; expected: number } {
  const file = join(DIR, '.git', 'bench-range');
  if (existsSync(file)) {
    const [from = '', to = '', expected = ''] = spawnSync('cat', [file], { encoding: 'utf8' }).stdout.trim().split(' ');
    return { from, to, expected: Number(expected) };
  }
  return generate();
}

const started = Date.now();
const range = cached();
console.log(`repo: ${DIR}: ${IMAGES} image folders, range of ${COMMITS} commits (generated in ${((Date.now() - started) / 1000).toFixed(1)} s or cached)`);
const times: number[] = [];
for (let run = 0; run < RUNS + 1; run++) {
  const t0 = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [CLI, 'ci', 'plan', '--from', range.from, '--to', range.to, '--json'], { cwd: DIR, env: { ...gitEnv, LOG_LEVEL: 'warn' }, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (result.status !== 0) throw new Error(`ci plan failed: ${result.stderr}`);
  const plan = JSON.parse(result.stdout) as { images: { action: string }[] };
  if (plan.images.length !== range.expected) throw new Error(`ci plan: ${plan.images.length} images, expected ${range.expected}`);
  const counts = plan.images.reduce<Record<string, number>>((acc, image) => ({ ...acc, [image.action]: (acc[image.action] ?? 0) + 1 }), {});
  if (run === 0) console.log(`warm-up: ${ms.toFixed(0)} ms; plan: ${JSON.stringify(counts)}`);
  else times.push(ms);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(`ci plan: ${RUNS} runs, median ${median.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times.at(-1)!.toFixed(0)}); ${cpus().length} CPUs, Node ${process.version}`);
