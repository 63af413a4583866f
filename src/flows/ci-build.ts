import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import * as z from 'zod/mini';
import type { LoadedConfig } from '../config/index.js';
import { artifactOf, createPacker, diskImageOf, imageIdOf, inspectHclTemplate, inspectJsonTemplate, type BuildResult, type TemplateFacts } from '../packer/index.js';
import { MANIFEST_FILE } from '../render/index.js';
import { createGit } from '../repo/index.js';
import { ConfigError, ToolError, UsageError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { formatIssues } from '../shared/zod.js';
import { isSafeImageId, writeBuildRecord, type BuildRecord } from './build-record.js';
import { uploadBuiltDisk } from './disk-upload.js';

// `ci build KEY`: every build file of images/<key>/, in the manifest's template
// order: plan (read and check everything), then `packer validate` + `packer build`
// one file after the other, stopping at the first failure. The record is
// written whatever happens, so a failed or cancelled job still shows its logs.

export interface CiBuildOptions {
  loaded: LoadedConfig;
  key: string;
  /** The folder that holds <key>/ [<repo>/out]. */
  outRoot: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** A line for the job log (stderr). */
  jobLog: (line: string) => void;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface CiBuildResult {
  dir: string;
  record: BuildRecord;
  /** Why the build failed: the command's exit 1. */
  failure?: string;
}

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const FILE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const VAR_FILE = /\.(pkr)?vars\.json$/;

const BuildManifest = z.object({
  image_name: z.string(),
  templates: z.array(z.object({ template: z.string(), files: z.array(z.string()) })),
});

interface PlannedFile {
  file: string;
  /** `packer-<base>.log`, `<base>` the file name without its extension. */
  base: string;
  varFile?: string;
  facts: TemplateFacts;
}

/** The key names a folder of images/, exactly: nothing else reaches a path. */
async function checkKey(repo: string, key: string): Promise<void> {
  if (!KEY.test(key) || key === '.' || key === '..') throw new UsageError(`ci build: ${JSON.stringify(key)} is not an image key`);
  const entries = await readdir(join(repo, 'images'), { withFileTypes: true }).catch(() => []);
  if (!entries.some((entry) => entry.isDirectory() && entry.name === key)) throw new UsageError(`ci build: no image ${key}: images/${key}/ is not a folder of ${repo}`);
}

async function planFiles(repo: string, key: string): Promise<{ imageName: string; files: PlannedFile[] }> {
  const where = `images/${key}/${MANIFEST_FILE}`;
  const text = await readFile(join(repo, where), 'utf8').catch(() => {
    throw new ConfigError(`${where}: missing: the image folder has no manifest (re-render it)`);
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${where}: not JSON: ${(error as Error).message}`);
  }
  const parsed = BuildManifest.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(where, parsed.error));
  const files: PlannedFile[] = [];
  for (const [index, template] of parsed.data.templates.entries()) {
    for (const name of template.files) {
      if (!FILE.test(name)) throw new ConfigError(`${where}: templates.${index}.files: ${JSON.stringify(name)} is not a file name of the folder`);
    }
    const file = template.files.find((name) => !VAR_FILE.test(name));
    if (!file) throw new ConfigError(`${where}: templates.${index}: no build file for ${template.template}`);
    const hcl = file.endsWith('.pkr.hcl');
    const varFile = template.files.find((name) => VAR_FILE.test(name)) ?? (hcl ? file.replace(/\.pkr\.hcl$/, '.pkrvars.json') : undefined);
    const buildText = await readFile(join(repo, 'images', key, file), 'utf8').catch(() => {
      throw new ConfigError(`images/${key}/${file}: missing (listed in ${where})`);
    });
    let variables: Record<string, unknown> = {};
    if (varFile) {
      const varText = await readFile(join(repo, 'images', key, varFile), 'utf8').catch(() => {
        throw new ConfigError(`images/${key}/${varFile}: missing: the var file of ${file} (listed in ${where})`);
      });
      try {
        variables = JSON.parse(varText) as Record<string, unknown>;
      } catch (error) {
        throw new ConfigError(`images/${key}/${varFile}: not JSON: ${(error as Error).message}`);
      }
    }
    const base = file.replace(/\.pkr\.hcl$|\.json$/, '');
    files.push({ file, base, ...(varFile ? { varFile } : {}), facts: hcl ? inspectHclTemplate(buildText) : inspectJsonTemplate(buildText, variables) });
  }
  if (files.length === 0) throw new ConfigError(`${where}: templates: no build files`);
  if (new Set(files.map((f) => f.base)).size !== files.length) throw new ConfigError(`${where}: two build files share the name ${files.map((f) => f.base).join(', ')}`);
  return { imageName: parsed.data.image_name, files };
}

/** OS_AUTH_URL, a named cloud, or a clouds.yaml where the OpenStack tools look. */
export function cloudConfigured(env: NodeJS.ProcessEnv, cwd: string): boolean {
  if (env.OS_AUTH_URL || env.OS_CLOUD || env.OS_CLIENT_CONFIG_FILE) return true;
  const home = env.HOME ?? homedir();
  return [join(cwd, 'clouds.yaml'), join(home, '.config/openstack/clouds.yaml'), '/etc/openstack/clouds.yaml'].some((path) => existsSync(path));
}

async function headCommit(repo: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env.CI_COMMIT_SHA && /^[0-9a-f]{7,64}$/.test(env.CI_COMMIT_SHA)) return env.CI_COMMIT_SHA;
  try {
    const head = await createGit(repo, env).run(['rev-parse', '--verify', '--quiet', 'HEAD'], { allowFailure: true });
    return head.code === 0 ? head.stdout.trim() : null;
  } catch {
    return null;
  }
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((done) => stream.end(done));
}

export async function ciBuild(options: CiBuildOptions): Promise<CiBuildResult> {
  const { loaded, key, env } = options;
  const repo = loaded.paths.repo;
  await checkKey(repo, key);
  const plan = await planFiles(repo, key);
  const dir = join(options.outRoot, key);
  await mkdir(dir, { recursive: true });
  const log = options.log.child({ imageKey: key });
  const now = options.now ?? (() => new Date());
  const timeoutMs = loaded.config.packer.timeout * 1000;
  const packer = createPacker({ cwd: repo, env, ...(options.signal ? { signal: options.signal } : {}) });
  const shown = (path: string) => (path.startsWith(`${repo}/`) ? relative(repo, path) : path);
  const record: BuildRecord = { key, commit: await headCommit(repo, env), builds: [] };
  const hasCloud = cloudConfigured(env, repo);
  let failure: string | undefined;

  try {
    for (const planned of plan.files) {
      const logPath = join(dir, `packer-${planned.base}.log`);
      const stream = createWriteStream(logPath, { flags: 'w', mode: 0o644 });
      const line = (text: string) => {
        const stamped = `${now().toISOString()} ${key} ${planned.file}: ${text}`;
        options.jobLog(stamped);
        stream.write(`${stamped}\n`);
      };
      const path = `images/${key}/${planned.file}`;
      const varFile = planned.varFile ? `images/${key}/${planned.varFile}` : undefined;
      const run = { ...(varFile ? { varFile } : {}), timeoutMs, onLine: (_stream: string, text: string) => line(text) };
      const entry = { file: planned.file, image_name: plan.imageName, image_id: null as string | null, artifact: null as string | null, exit_code: 0, log: shown(logPath) };
      record.builds.push(entry);
      try {
        const syntaxOnly = planned.facts.openstack && !planned.facts.ownsCloud && !hasCloud;
        if (syntaxOnly) {
          const warning = 'no cloud configured (no OS_AUTH_URL, OS_CLOUD or clouds.yaml): packer validate -syntax-only; the credentials are not checked';
          line(`warning: ${warning}`);
          log.warn({ file: planned.file }, warning);
        }
        line(`packer validate${syntaxOnly ? ' -syntax-only' : ''}${varFile ? ` -var-file=${varFile}` : ''} ${path}`);
        const validated = await packer.validate(path, { ...run, syntaxOnly });
        if (validated.exitCode !== 0) {
          entry.exit_code = validated.exitCode;
          failure = `packer validate ${path} failed (exit ${validated.exitCode}): ${validated.tail.slice(-3).join(' | ')}`;
          break;
        }
        line(`packer build -machine-readable${varFile ? ` -var-file=${varFile}` : ''} ${path}`);
        log.info({ file: planned.file }, 'packer build started');
        const built = await packer.build(path, { ...run, manifests: planned.facts.manifests });
        entry.exit_code = built.exitCode;
        entry.artifact = artifactOf(built);
        const id = imageIdOf(built);
        if (id !== null && !isSafeImageId(id)) log.warn({ file: planned.file, id }, 'image ID with unsafe characters ignored');
        entry.image_id = id !== null && isSafeImageId(id) ? id : null;
        if (built.manifest) await writeFile(join(dir, `packer-${planned.base}.manifest.json`), built.manifest.text);
        failure = failureOf(path, built, loaded.config.packer.timeout);
        const disk = failure ? undefined : await diskImageOf(built, repo).catch((error: Error) => {
          throw new ConfigError(`ci build ${key}: ${path}: ${error.message}`);
        });
        if (disk) {
          // A disk file, not an image in the cloud: upload it, and that is the image the chain goes on with.
          line(`uploading ${shown(disk.path)} (${disk.diskFormat}, ${disk.containerFormat}) to Glance as ${plan.imageName}`);
          entry.image_id = null;
          try {
            const uploaded = await uploadBuiltDisk({ loaded, key, env, log, imageName: plan.imageName, commit: record.commit, disk, hasCloud });
            entry.image_id = uploaded.id;
            line(`uploaded: image ${uploaded.id}, ${uploaded.size} bytes in ${uploaded.seconds.toFixed(1)} s`);
          } catch (error) {
            if (error instanceof ConfigError) throw error;
            failure = `ci build ${key}: ${(error as Error).message}`;
          }
        }
        line(failure ?? `built: image ${entry.image_id ?? '(none)'}, artifact ${entry.artifact ?? '(none)'}`);
        log.info({ file: planned.file, exitCode: built.exitCode, imageId: entry.image_id, stopped: built.stopped }, 'packer build ended');
        if (failure) break;
      } catch (error) {
        // Packer did not run to an exit (not installed, say): 127, as a shell reports it.
        entry.exit_code = error instanceof ToolError && error.exitCode !== undefined ? error.exitCode : 127;
        throw error;
      } finally {
        await closeStream(stream);
      }
    }
  } finally {
    await writeBuildRecord(dir, record);
  }
  return { dir, record, ...(failure ? { failure } : {}) };
}

function failureOf(path: string, built: BuildResult, timeoutSeconds: number): string | undefined {
  if (built.stopped === 'timeout') return `packer build ${path}: timed out after ${timeoutSeconds} s (packer.timeout) and was stopped`;
  if (built.stopped === 'cancelled') return `packer build ${path}: cancelled; Packer was stopped (exit ${built.exitCode})`;
  if (built.exitCode === 0) return undefined;
  const errors = built.errors;
  return `packer build ${path} failed (exit ${built.exitCode})${errors.length ? `: ${errors.join(' | ')}` : ''}`;
}

/** `--out` from the command line: relative to the working directory; the default is <repo>/out. */
export function outRootOf(repo: string, cwd: string, flag: string | undefined): string {
  if (flag === undefined) return join(repo, 'out');
  return isAbsolute(flag) ? flag : resolve(cwd, flag);
}
