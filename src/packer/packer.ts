import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runTool, ToolRunError, type ToolStream } from '../shared/exec.js';
import { BuildOutput, describeLine, parseMachineReadableLine, type PackerArtifact } from './machine-readable.js';
import { PackerManifestFile } from './schema.js';

/** One line for the job log: where it came from and what a person reads. */
export type PackerLineSink = (stream: ToolStream, text: string) => void;

export interface PackerOptions {
  /** Directory Packer runs in: relative paths in build files resolve from it (the repo root). */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Cancels the running Packer (SIGTERM, so it cleans up). */
  signal?: AbortSignal;
  binary?: string;
  /** Between SIGTERM and SIGKILL: Packer deletes its build server in that time [60 s]. */
  killGraceMs?: number;
}

export interface RunOptions {
  varFile?: string;
  timeoutMs?: number;
  onLine?: PackerLineSink;
}

export interface ValidateResult {
  exitCode: number;
  /** The last lines Packer printed, for the error message. */
  tail: string[];
}

export interface BuildResult {
  exitCode: number;
  /** Set when Packer was stopped: by packer.timeout, or a cancelled job. */
  stopped?: 'timeout' | 'cancelled';
  artifacts: PackerArtifact[];
  /** The last error messages, one line each. */
  errors: string[];
  /** The manifest post-processor's entries of this run, when it wrote one. */
  manifest?: { path: string; text: string; builds: PackerManifestFile['builds'] };
}

export interface Packer {
  validate(file: string, options?: RunOptions & { syntaxOnly?: boolean }): Promise<ValidateResult>;
  build(file: string, options?: RunOptions & { manifests?: string[] }): Promise<BuildResult>;
}

// Builders whose artifact is no image: their IDs are placeholders ("Null", "File").
const NOT_AN_IMAGE = new Set(['fnoeding.null', 'packer.file']);

/** The manifest post-processor's entry of the build's first artifact (or its first entry). */
export function manifestEntryOf(result: BuildResult): PackerManifestFile['builds'][number] | undefined {
  const first = result.artifacts[0];
  return result.manifest?.builds.find((build) => !first || build.name === first.target) ?? result.manifest?.builds[0];
}

/** The image a build made: the builder's artifact ID; for a local (null/file) build, the manifest's `custom_data.image_id`. */
export function imageIdOf(result: BuildResult): string | null {
  if (result.exitCode !== 0 || result.stopped) return null;
  const first = result.artifacts[0];
  const entry = manifestEntryOf(result);
  const custom = entry?.custom_data?.image_id;
  if (first?.builderId !== undefined && !NOT_AN_IMAGE.has(first.builderId) && first.id) return first.id;
  if (!first && entry?.artifact_id && entry.builder_type !== 'null' && entry.builder_type !== 'file') return entry.artifact_id;
  return typeof custom === 'string' && custom ? custom : null;
}

/** What Packer called its artifact: the builder artifact's ID (the image ID, or "Null"/"File" for local builds). */
export function artifactOf(result: BuildResult): string | null {
  return result.artifacts[0]?.id ?? null;
}

export function createPacker(options: PackerOptions): Packer {
  const binary = options.binary ?? 'packer';
  const env = { CHECKPOINT_DISABLE: '1', ...options.env };
  const common = { cwd: options.cwd, env, killGraceMs: options.killGraceMs ?? 60_000, ...(options.signal ? { signal: options.signal } : {}) };
  const varArgs = (varFile: string | undefined) => (varFile ? [`-var-file=${varFile}`] : []);

  return {
    async validate(file, run = {}) {
      const tail: string[] = [];
      const args = ['validate', ...(run.syntaxOnly ? ['-syntax-only'] : []), ...varArgs(run.varFile), file];
      const result = await runTool(binary, args, {
        ...common,
        ...(run.timeoutMs === undefined ? {} : { timeoutMs: run.timeoutMs }),
        onLine: (stream, line) => {
          if (line.trim()) tail.push(line.trim());
          if (tail.length > 20) tail.shift();
          run.onLine?.(stream, line);
        },
      });
      return { exitCode: result.exitCode, tail };
    },

    async build(file, run = {}) {
      const output = new BuildOutput();
      const args = ['build', '-machine-readable', ...varArgs(run.varFile), file];
      const onLine = (stream: ToolStream, line: string) => {
        const parsed = stream === 'stdout' ? parseMachineReadableLine(line) : undefined;
        if (parsed) output.add(parsed);
        const text = parsed ? describeLine(parsed) : line;
        for (const piece of text.split('\n')) run.onLine?.(stream, piece);
      };
      let exitCode: number;
      let stopped: BuildResult['stopped'];
      try {
        exitCode = (await runTool(binary, args, { ...common, ...(run.timeoutMs === undefined ? {} : { timeoutMs: run.timeoutMs }), onLine })).exitCode;
      } catch (error) {
        if (!(error instanceof ToolRunError) || (error.kind !== 'timeout' && error.kind !== 'cancelled')) throw error;
        stopped = error.kind === 'timeout' ? 'timeout' : 'cancelled';
        exitCode = error.exitCode ?? 128 + (error.signal === 'SIGKILL' ? 9 : 15);
      }
      const result: BuildResult = { exitCode, artifacts: output.artifacts, errors: output.lastErrors(), ...(stopped ? { stopped } : {}) };
      if (exitCode === 0 && !stopped) {
        for (const path of run.manifests ?? []) {
          const manifest = await readManifest(resolve(options.cwd, path));
          if (manifest) {
            result.manifest = { path, ...manifest };
            break;
          }
        }
      }
      return result;
    },
  };
}

/** This run's entries of a manifest post-processor file; an unreadable one counts as absent. */
async function readManifest(path: string): Promise<{ text: string; builds: PackerManifestFile['builds'] } | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = PackerManifestFile.safeParse(raw);
  if (!parsed.success) return undefined;
  const { builds, last_run_uuid: last } = parsed.data;
  return { text, builds: last ? builds.filter((build) => build.packer_run_uuid === last) : builds };
}
