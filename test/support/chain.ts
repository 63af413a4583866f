// The whole chain on real components, shared by test/e2e/chain.cloud.test.ts, the local
// stack's demo (scripts/stack.sh) and its benchmark: a profile changes on the example
// Aquilon site (served over HTTP) → `packuilon detect` publishes to RabbitMQ →
// `packuilon consume` commits and pushes to a bare remote → the repo's real
// .gitlab-ci.yml under gitlab-ci-local: plan → child pipeline → build:<key>
// (local Packer template) [→ test:<key> → promote:<key> when the tool has them].
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse, stringify } from 'yaml';
import { runCli } from './cli.js';
import { git, gitEnv } from './git-repos.js';
import { startAquilonServer } from './aquilon-server.js';
import { createGlance, createSession, resolveCredentials, type ImageStore } from '../../src/openstack/index.js';
import { silentLogger } from '../../src/shared/log.js';
import { openrc, sharedOpenstack, type OpenstackInfo } from './openstack.js';
import { sharedRabbit } from './rabbit.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const EXAMPLE = join(ROOT, 'examples', 'site', 'profiles');
export const CHAIN_PROFILE = 'nubesvms-sl7x-x86-64.cloud.template.json';
export const CHAIN_KEY = 'nubesvms-sl7x-x86_64';
export const ROCKY_PROFILE = 'nubesvms-rocky8x-x86-64.cloud.template.json';
export const ROCKY_KEY = 'nubesvms-rocky8x-x86_64';
/** The template only ROCKY_KEY uses. */
export const ROCKY_TEMPLATE = 'templates/local-rocky.json';

export interface ChainServices {
  amqpUrl: string;
  openstack: OpenstackInfo;
}

/** What names a chain: plain data (the local stack keeps it in its state dir as chain.json). */
export interface ChainData {
  root: string;
  repo: string;
  remote: string;
  /** The copy of the example site the Aquilon server serves. */
  profiles: string;
  indexUrl: string;
  queue: string;
  /** The Glance name of the chain's image once promoted. */
  imageName: string;
}

export interface Chain extends ChainData {
  /** The environment every packuilon command of the chain runs with (git identity, broker URL). */
  env: NodeJS.ProcessEnv;
  /** Stops the Aquilon server when setUpChain started it. */
  close(): Promise<void>;
}

export function openChain(data: ChainData, services: ChainServices, close: () => Promise<void> = async () => undefined): Chain {
  return { ...data, env: { ...gitEnv, PACKUILON_QUEUE_URL: services.amqpUrl, GITLAB_TOKEN: '' }, close };
}

/** A Rally task that reads the new image back from Glance by its ID (task arg image_id, from `ci test`). */
export const GLANCE_TASK = `---
version: 2
title: packuilon chain image check
subtasks:
  - title: list-images
    workloads:
      - scenario:
          GlanceImages.list_images: {}
        runner:
          serial:
            times: 1
        sla:
          failure_rate:
            max: 0
`;

/** A Rally task whose SLA the image fails (an iteration slower than allowed): verdict fail, exit 3. */
export const FAILING_TASK = `---
version: 2
title: packuilon chain image check that fails
subtasks:
  - title: too-slow
    workloads:
      - scenario:
          Dummy.dummy:
            sleep: 0.3
        runner:
          serial:
            times: 1
        sla:
          max_seconds_per_iteration: 0.1
`;

/**
 * An image repo as `packuilon init` scaffolds it, in `root`: index over HTTP from a copy of the
 * example site, the local Packer template for every image, queue mode, a bare `origin`,
 * the current profiles recorded as seen (`detect --baseline`), so the first change builds one image.
 */
export async function setUpChain(root: string, services: ChainServices, options: { queue?: string; imagePrefix?: string; indexUrl?: string } = {}): Promise<Chain> {
  const profiles = join(root, 'profiles');
  if (!existsSync(profiles)) cpSync(EXAMPLE, profiles, { recursive: true });
  const aquilon = options.indexUrl ? undefined : await startAquilonServer({ dir: profiles });
  const data: ChainData = {
    root,
    repo: join(root, 'repo'),
    remote: join(root, 'remote.git'),
    profiles,
    indexUrl: options.indexUrl ?? aquilon!.indexUrl,
    queue: options.queue ?? `chain-${process.pid}-${Date.now()}`,
    imageName: `${options.imagePrefix ?? ''}nubesvms-sl7x-x86_64`,
  };
  const chain = openChain(data, services, async () => aquilon?.close());
  const { repo, remote, env } = chain;
  try {
    const init = await runCli(['init', repo, '--index-url', data.indexUrl, '--remote', 'origin'], { cwd: root, env });
    if (init.code !== 0) throw new Error(`chain: packuilon init: ${init.stderr.trim()}`);
    // Every image builds with the local template; one has a copy of its own, so a change of
    // that copy re-renders (and rebuilds) that image alone.
    // The build's file is a disk image for Glance (custom_data.disk_image): ci build uploads it.
    const local = join(repo, 'templates', 'local.json');
    const template = JSON.parse(readFileSync(local, 'utf8')) as { builders: { target: string }[]; 'post-processors': { type: string; custom_data?: Record<string, string> }[] };
    for (const post of template['post-processors']) {
      if (post.type !== 'manifest' || !post.custom_data) continue;
      delete post.custom_data.image_id;
      post.custom_data.disk_image = template.builders[0]!.target;
      post.custom_data.disk_format = 'raw';
    }
    writeFileSync(local, `${JSON.stringify(template, null, 2)}\n`);
    cpSync(local, join(repo, 'templates', ROCKY_TEMPLATE.slice('templates/'.length)));
    const map = { DEFAULT: ['templates/local.json'], [ROCKY_KEY]: [ROCKY_TEMPLATE] };
    writeFileSync(join(repo, 'templates', 'template-map.json'), `${JSON.stringify(map, null, 2)}\n`);
    mkdirSync(join(repo, 'templates', 'rally'), { recursive: true });
    writeFileSync(join(repo, 'templates', 'rally', 'glance-check.yaml'), GLANCE_TASK);
    const config = parse(readFileSync(join(repo, 'packuilon.yaml'), 'utf8')) as Record<string, unknown>;
    const extra = {
      image_name: `${options.imagePrefix ?? ''}{personality}-{os}{os_version}-{arch}`,
      trigger: 'queue',
      queue: { name: data.queue },
      state_dir: join(root, 'state'),
      rally: { task: 'templates/rally/glance-check.yaml', timeout: 600 },
    };
    writeFileSync(join(repo, 'packuilon.yaml'), stringify({ ...config, ...extra }));
    git(root, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
    git(repo, 'remote', 'add', 'origin', remote);
    git(repo, 'add', '-A');
    git(repo, 'commit', '--quiet', '-m', 'image repo scaffolded by packuilon init');
    git(repo, 'push', '--quiet', '-u', 'origin', 'main');
    const baseline = await runCli(['detect', '--baseline'], { cwd: repo, env });
    if (baseline.code !== 0) throw new Error(`chain: packuilon detect --baseline: ${baseline.stderr.trim()}`);
  } catch (error) {
    await chain.close();
    throw error;
  }
  return chain;
}

/** A test file's chain: the run's shared RabbitMQ and Keystone + Glance, and a chain in `root` on them. */
export interface ChainSuite {
  services: ChainServices;
  chain: Chain;
  /** Stops the chain's Aquilon server, releases the shared services. */
  close(): Promise<void>;
}

export async function openChainSuite(root: string, imagePrefix: string): Promise<ChainSuite> {
  const [openstack, rabbit] = await Promise.all([sharedOpenstack(), sharedRabbit()]);
  const release = () => Promise.all([rabbit.release(), openstack.release()]).then(() => undefined);
  const services = { amqpUrl: rabbit.url, openstack: openstack.info };
  try {
    const chain = await setUpChain(root, services, { imagePrefix });
    return { services, chain, close: () => chain.close().then(release) };
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * The image of the chain's name in service before the change, as a site has it: active,
 * shared with tenant-b, which has accepted it. Returns its ID.
 */
export async function seedPreviousImage(chain: Chain, info: OpenstackInfo): Promise<string> {
  const admin = glanceAs(info, 'image-admin');
  const old = await admin.create({ name: chain.imageName, disk_format: 'raw', container_format: 'bare', visibility: 'shared' });
  await admin.upload(old.id, Buffer.from('the previous image'));
  await admin.addMember(old.id, info.projects['tenant-b']!);
  await glanceAs(info, 'userb').setMemberStatus(old.id, info.projects['tenant-b']!, 'accepted');
  return old.id;
}

export function glanceAs(info: OpenstackInfo, user: keyof OpenstackInfo['users']): ImageStore {
  return createGlance(createSession({ credentials: resolveCredentials({ env: openrc(info, user), cwd: '/nonexistent' }), log: silentLogger() }));
}

/** The profile changes on the Aquilon side: new content, a later mtime in the index. */
export function changeProfile(chain: Chain, name: string, label: string): void {
  const file = join(chain.profiles, name);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...doc, packuilon_chain_change: label }, null, 2));
  const index = join(chain.profiles, 'profiles-info.xml');
  const text = readFileSync(index, 'utf8');
  const pattern = new RegExp(`mtime='(\\d+)'>${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}<`);
  const mtime = Number(pattern.exec(text)?.[1] ?? '0');
  writeFileSync(index, text.replace(pattern, `mtime='${Math.max(mtime + 1, Math.floor(Date.now() / 1000))}'>${name}<`));
}

export interface StageTiming {
  stage: string;
  ms: number;
}

export interface ChainRun {
  before: string;
  commit: string;
  timings: StageTiming[];
  /** gitlab-ci-local's whole output. */
  pipelineLog: string;
  pipelineCode: number;
  /** Job name → PASS / FAIL as gitlab-ci-local printed it (child jobs as `[images] -> build:<key>`). */
  jobs: Record<string, 'PASS' | 'FAIL'>;
}

export interface RunChainOptions {
  profile?: string;
  label?: string;
  /** Who the CI jobs are: the OS_* variables of this seeded user [image-admin]. */
  user?: keyof OpenstackInfo['users'];
  /** Called when each stage ends (the stack's demo prints them as they come). */
  onStage?: (timing: StageTiming, detail: string) => void;
  /** Every line of the pipeline as it comes. */
  onLine?: (line: string) => void;
  /** Extra --variable NAME=VALUE for gitlab-ci-local. */
  variables?: Record<string, string>;
}

/** One profile change through the whole chain; throws (one line) when a stage before the pipeline fails. */
export async function runChain(chain: Chain, services: ChainServices, options: RunChainOptions = {}): Promise<ChainRun> {
  const timings: StageTiming[] = [];
  const stage = (name: string, started: number, detail: string): void => {
    const timing = { stage: name, ms: Date.now() - started };
    timings.push(timing);
    options.onStage?.(timing, detail);
  };
  const before = git(chain.repo, 'rev-parse', 'HEAD');
  changeProfile(chain, options.profile ?? CHAIN_PROFILE, options.label ?? `change ${Date.now()}`);

  let started = Date.now();
  const detect = await runCli(['detect', '--json'], { cwd: chain.repo, env: chain.env });
  if (detect.code !== 0) throw new Error(`chain: detect exit ${detect.code}: ${detect.stderr.trim()}`);
  const published = (JSON.parse(detect.stdout) as { published?: number }).published ?? 0;
  if (published < 1) throw new Error(`chain: detect published nothing: ${detect.stdout.trim()}`);
  stage('detect', started, `${published} profile(s) published to ${chain.queue}`);

  started = Date.now();
  const consume = await runCli(['consume', '--max-messages', String(published)], { cwd: chain.repo, env: chain.env, stopAfterMs: 120_000 });
  if (consume.code !== 0) throw new Error(`chain: consume exit ${consume.code}: ${consume.stderr.trim()}`);
  const commit = git(chain.remote, 'rev-parse', 'main');
  if (commit === before) throw new Error(`chain: consume pushed no commit: ${consume.stdout.trim()}`);
  stage('queue + commit + push', started, `${git(chain.remote, 'log', '-1', '--format=%h %s', 'main')}`);
  git(chain.repo, 'fetch', '--quiet', 'origin');
  git(chain.repo, 'reset', '--quiet', '--hard', 'origin/main');

  const pipeline = await runPipeline(chain, services, before, options, stage);
  return { before, commit, timings, ...pipeline };
}

/** The repo's .gitlab-ci.yml under gitlab-ci-local on the pushed commit; per-job timings from its output. */
export async function runPipeline(chain: Chain, services: ChainServices, before: string, options: RunChainOptions, stage: (name: string, started: number, detail: string) => void = () => undefined): Promise<Pick<ChainRun, 'pipelineLog' | 'pipelineCode' | 'jobs'>> {
  const bin = join(ROOT, 'node_modules', '.bin', 'gitlab-ci-local');
  if (!existsSync(bin)) throw new Error(`chain: ${bin} is missing (scripts/setup.sh --test installs it)`);
  const vars: Record<string, string> = {
    PACKUILON: `${process.execPath} ${join(ROOT, 'bin', 'packuilon.mjs')}`,
    CI_COMMIT_BEFORE_SHA: before,
    CI_PIPELINE_URL: `file://${chain.root}/pipeline`,
    ...openrc(services.openstack, options.user ?? 'image-admin'),
    ...options.variables,
  };
  // As a site's CI/CD project variables: gitlab-ci-local hands --variable values to the parent
  // pipeline only, its variables file to the child pipeline too. Protected: as the default branch is.
  const project = { ...vars, CI_COMMIT_REF_PROTECTED: 'true' };
  // Not PACKUILON: the child names its own, and the file makes a value with a path in it a file variable.
  for (const name of ['CI_COMMIT_BEFORE_SHA', 'PACKUILON']) delete (project as Record<string, string | undefined>)[name];
  writeFileSync(join(chain.repo, '.gitlab-ci-local-variables.yml'), stringify(project));
  const exclude = join(chain.repo, '.git', 'info', 'exclude');
  if (!readFileSync(exclude, 'utf8').includes('.gitlab-ci-local-variables.yml')) appendFileSync(exclude, '.gitlab-ci-local-variables.yml\n');
  const args = ['--shell-executor-no-image', '--no-color', ...Object.entries(vars).flatMap(([k, v]) => ['--variable', `${k}=${v}`])];
  const started = Date.now();
  const child = spawn(bin, args, { cwd: chain.repo, env: { ...chain.env, FORCE_COLOR: '0', GCL_IGNORE_PREDEFINED_VARS: 'CI_COMMIT_REF_PROTECTED' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const jobs: Record<string, 'PASS' | 'FAIL'> = {};
  const jobStart = new Map<string, number>();
  let first = true;
  const onLine = (raw: string): void => {
    const line = raw.replace(/\u001b\[[0-9;]*m/g, '');
    lines.push(line);
    options.onLine?.(line);
    const starting = /^\s*(?:\[[^\]]+\] -> )?(\S+)\s+starting shell/.exec(line);
    if (starting) {
      if (first) stage('pipeline start', started, 'gitlab-ci-local parsed .gitlab-ci.yml, first job starting');
      first = false;
      jobStart.set(starting[1]!, Date.now());
    }
    const finished = /^\s*(?:\[[^\]]+\] -> )?(\S+)\s+finished in/.exec(line);
    if (finished) {
      const name = finished[1]!;
      const kind = name.replace(/:.*/, '');
      stage(kind === 'pipeline' ? 'pipeline total' : kind, jobStart.get(name) ?? started, name);
    }
    // Stages inside a job, from the tool's own log events (timed by the tool)
    const event = /> (\{".*\})\s*$/.exec(line);
    if (event) {
      const fields = JSON.parse(event[1]!) as { msg?: string; seconds?: number; ms?: number };
      const inner = fields.msg === 'disk image uploaded' && fields.seconds !== undefined ? ['upload', fields.seconds * 1000] as const
        : fields.msg === 'ci promote applied' && fields.ms !== undefined ? ['promote: Glance', fields.ms] as const
          : fields.msg === 'ci promote recorded in git' && fields.ms !== undefined ? ['promote: record', fields.ms] as const : undefined;
      if (inner) stage(inner[0], Date.now() - Math.round(inner[1]), 'from the job log');
    }
    const verdict = /^\s*(PASS|FAIL)\s+(\S.*?)\s*$/.exec(line);
    if (verdict) jobs[verdict[2]!] = verdict[1] as 'PASS' | 'FAIL';
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { pipelineLog: lines.join('\n'), pipelineCode: code, jobs };
}

/** `packuilon history KEY --json` of the repo, after fetching the notes the jobs pushed. */
export async function chainHistory(chain: Chain, key = CHAIN_KEY): Promise<unknown> {
  try {
    git(chain.repo, 'fetch', '--quiet', 'origin', '+refs/notes/packuilon:refs/notes/packuilon');
  } catch {
    // no job has recorded anything yet
  }
  const history = await runCli(['history', key, '--json'], { cwd: chain.repo, env: chain.env });
  if (history.code !== 0) throw new Error(`chain: history exit ${history.code}: ${history.stderr.trim()}`);
  return JSON.parse(history.stdout) as unknown;
}
