import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { parse as parseYaml } from 'yaml';
import type { core } from 'zod/mini';
import { formatIssues } from '../shared/zod.js';
import { ConfigError } from '../shared/errors.js';
import { checkConfig } from './checks.js';
import { Config } from './schema.js';

export interface LoadedConfig {
  config: Config;
  /** Where the config came from, for error messages (`packuilon.yaml`, or `defaults`). */
  source: string;
  /** With no config file (source `defaults`): the file that was looked for. */
  lookedFor?: string;
  /** Absolute paths derived from the config. */
  paths: { repo: string; stateDir: string; templateMap: string; sourceImages: string; indexDir?: string };
}

export interface LoadOptions {
  /** --config */
  file?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Flags, as a partial config: they beat the environment. */
  overrides?: Record<string, unknown>;
}

/** Config file from --config, else PACKUILON_CONFIG, else ./packuilon.yaml (which may be absent). */
export function loadConfig(options: LoadOptions): LoadedConfig {
  const explicit = options.file ?? options.env.PACKUILON_CONFIG;
  const file = resolve(options.cwd, explicit ?? 'packuilon.yaml');
  let raw: unknown = {};
  let source = 'defaults';
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (explicit || (error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`${file}: cannot read config: ${(error as Error).message}`);
    }
  }
  if (text !== undefined) {
    source = file;
    try {
      raw = parseYaml(text) ?? {};
    } catch (error) {
      throw new ConfigError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: expected a mapping at the top level`);
  }
  const merged = applyEnvironment(structuredClone(raw) as Record<string, unknown>, options.env, source);
  deepMerge(merged, options.overrides ?? {});
  const parsed = Config.safeParse(merged);
  if (!parsed.success) throw new ConfigError(formatIssues(source === 'defaults' ? 'configuration' : source, parsed.error));
  const config = parsed.data;
  const base = source === 'defaults' ? options.cwd : dirname(file);
  if (config.aquilon.index_url && config.aquilon.index_dir) {
    throw new ConfigError(`${source}: aquilon: set index_url or index_dir, not both`);
  }
  const repo = resolve(base, config.repo.path);
  const fileQueueUrl = (raw as { queue?: { url?: unknown } }).queue?.url;
  checkConfig(config, { source, repo, queueUrlFromEnv: Boolean(options.env.PACKUILON_QUEUE_URL), fileQueueUrl });
  const stateHome = options.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return {
    config,
    source,
    ...(source === 'defaults' ? { lookedFor: file } : {}),
    paths: {
      repo,
      stateDir: config.state_dir ? resolve(base, config.state_dir) : join(stateHome, 'packuilon'),
      templateMap: resolve(repo, config.templates.map),
      sourceImages: resolve(repo, config.templates.sources),
      ...(config.aquilon.index_dir ? { indexDir: resolve(base, config.aquilon.index_dir) } : {}),
    },
  };
}

type Scalar = 'string' | 'number' | 'boolean';

/** `PACKUILON_` + the key's path in upper snake case, for every scalar key of the schema. */
export function environmentKeys(): Map<string, { path: string[]; kind: Scalar }> {
  const keys = new Map<string, { path: string[]; kind: Scalar }>();
  const walk = (schema: core.$ZodType, path: string[]): void => {
    const def = schema._zod.def as { type: string; innerType?: core.$ZodType; shape?: Record<string, core.$ZodType> };
    if (def.innerType) return walk(def.innerType, path);
    if (def.type === 'object' && def.shape) {
      for (const [key, child] of Object.entries(def.shape)) walk(child, [...path, key]);
      return;
    }
    const kind: Scalar | undefined =
      def.type === 'string' || def.type === 'enum' ? 'string' : def.type === 'number' ? 'number' : def.type === 'boolean' ? 'boolean' : undefined;
    if (kind) keys.set(`PACKUILON_${path.join('_').toUpperCase()}`, { path, kind });
  };
  walk(Config, []);
  return keys;
}

function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, source: string): Record<string, unknown> {
  for (const [name, { path, kind }] of environmentKeys()) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let typed: unknown = value;
    if (kind === 'number') {
      typed = Number(value);
      if (!Number.isFinite(typed)) throw new ConfigError(`${name}: expected a number, received ${JSON.stringify(value)}`);
    } else if (kind === 'boolean') {
      if (value !== 'true' && value !== 'false') throw new ConfigError(`${name}: expected true or false, received ${JSON.stringify(value)}`);
      typed = value === 'true';
    }
    setPath(raw, path, typed, source);
  }
  return raw;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown, source: string): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key] ?? {};
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw new ConfigError(`${source}: ${path.join('.')}: expected a mapping at ${key}`);
    }
    node[key] = next;
    node = next as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepMerge(target: Record<string, unknown>, extra: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) continue;
    const current = target[key];
    if (value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)) {
      deepMerge(current as Record<string, unknown>, value as Record<string, unknown>);
    } else {
      target[key] = value;
    }
  }
}
