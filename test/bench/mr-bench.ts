/**
 * Merge-request mode at scale: `packuilon detect` (the real CLI bundle, as a
 * process) on the generated 20,000-host site, against the fake GitLab on
 * loopback, with K = 10 and K = 1,000 changed profiles. Reports the median
 * wall time and the forge calls per image that got a request.
 *
 *   node --import tsx test/bench/mr-bench.ts [--runs 3] [--hosts 20000] [--image-keys 500] [--changed 10,1000]
 *
 * Each run starts from the same place: main holds the first import (made in
 * direct mode), no request branches and no requests.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { generateSite, mutateSite } from './gen-site.js';
import { startFakeGitlab } from '../support/fake-gitlab.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, hosts: { type: 'string', default: '20000' }, 'image-keys': { type: 'string', default: '500' }, changed: { type: 'string', default: '10,1000' } } });
const runs = Number(values.runs);
const root = resolve('.tmp/bench/mr');
const cli = resolve('bin/packuilon.mjs');
const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'b@example.org', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'b@example.org' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8', maxBuffer: 256 << 20 }).trim();
const TOKEN = 'bench-token';

rmSync(root, { recursive: true, force: true });
const site = join(root, 'site');
const remote = join(root, 'remote.git');
const work = join(root, 'work');
const state = join(root, 'state');
mkdirSync(work, { recursive: true });
const generated = generateSite({ dir: site, hosts: Number(values.hosts), imageKeys: Number(values['image-keys']), matchFraction: 1, repoDir: work });
git(root, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
git(work, 'init', '--quiet', '--initial-branch=main');
git(work, 'remote', 'add', 'origin', remote);
const config = (mode: 'direct' | 'merge-request', url = '') =>
  writeFileSync(
    join(work, 'packuilon.yaml'),
    stringify({ aquilon: { index_dir: site, match: '' }, state_dir: state, repo: { remote: 'origin', branch: 'main', mode }, ...(url ? { forge: { type: 'gitlab', url, project: 'cloud/images' } } : {}) }),
  );
config('direct');
writeFileSync(join(work, '.gitignore'), 'packuilon.yaml\n');
git(work, 'add', '-A');
git(work, 'commit', '--quiet', '-m', 'site');
git(work, 'push', '--quiet', 'origin', 'main');
// Asynchronous: the fake GitLab answers from this very process.
const detect = async (env: NodeJS.ProcessEnv) => {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [cli, 'detect', '--json'], { cwd: work, env: { ...env, LOG_LEVEL: 'warn' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, 'close')) as [number];
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (status !== 0) throw new Error(`detect exited ${status}: ${stderr.slice(-2000)}`);
  return { ms, report: JSON.parse(stdout) as { requests?: { opened: string[] }; commits: number } };
};
console.log(`site: ${generated.profiles.length} hosts, ${generated.imageKeys.length} image keys; first import in direct mode…`);
const first = await detect(gitEnv);
console.log(`first import: ${(first.ms / 1000).toFixed(1)} s, ${first.report.commits} image commits`);
const baseState = join(root, 'state-base');
cpSync(state, baseState, { recursive: true });
const baseSite = join(root, 'site-base');
cpSync(site, baseSite, { recursive: true });

const gitlab = await startFakeGitlab({ token: TOKEN, project: 'cloud/images', bareRepo: remote });
config('merge-request', gitlab.instanceUrl);
const results: string[] = [];
for (const changed of values.changed.split(',').map(Number)) {
  const times: number[] = [];
  const callsPerImage: number[] = [];
  let opened = 0;
  for (let run = 0; run < runs; run++) {
    // Back to the first import: no branches, no requests, the site and state as after it.
    for (const ref of git(remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/packuilon/').split('\n').filter(Boolean)) git(remote, 'update-ref', '-d', ref);
    gitlab.mergeRequests.length = 0;
    rmSync(state, { recursive: true, force: true });
    cpSync(baseState, state, { recursive: true });
    rmSync(site, { recursive: true, force: true });
    cpSync(baseSite, site, { recursive: true });
    mutateSite({ dir: site, changed, seed: run + 1 });
    const before = gitlab.calls.length;
    const { ms, report } = await detect({ ...gitEnv, GITLAB_TOKEN: TOKEN });
    opened = report.requests?.opened.length ?? 0;
    times.push(ms);
    callsPerImage.push((gitlab.calls.length - before) / Math.max(1, opened));
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
  const line = `| ${changed} | ${opened} | ${(median(times) / 1000).toFixed(2)} s | ${times.map((t) => (t / 1000).toFixed(2)).join(', ')} | ${median(callsPerImage).toFixed(2)} |`;
  results.push(line);
  console.log(line);
}
await gitlab.close();
console.log(['', '| K changed | requests opened | median | runs | forge calls per request |', '|---|---|---|---|---|', ...results].join('\n'));
