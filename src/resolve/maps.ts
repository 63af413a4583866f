import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../shared/errors.js';
import { formatIssues } from '../shared/zod.js';
import { SourceImages, TemplateMap } from './schema.js';

export type TemplateMap = Record<string, string[]>;
/** Flattened to `<os><osversion>-<arch>` → image ID. */
export type SourceImageMap = Map<string, string>;

const IMAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function parseData(file: string, text: string): unknown {
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: cannot parse: ${(error as Error).message.split('\n')[0]}`);
  }
}

export function parseTemplateMap(file: string, text: string): TemplateMap {
  const parsed = TemplateMap.safeParse(parseData(file, text));
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));
  return parsed.data;
}

export function parseSourceImages(file: string, text: string): SourceImageMap {
  const parsed = SourceImages.safeParse(parseData(file, text));
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));
  const flat: SourceImageMap = new Map();
  const add = (key: string, id: string) => {
    // The image ID lands in a build file and a shell-local command: keep it plain.
    if (!IMAGE_ID.test(id)) throw new ConfigError(`${file}: ${key}: ${JSON.stringify(id)} is not an image ID`);
    flat.set(key, id);
  };
  for (const [key, value] of Object.entries(parsed.data)) {
    if (typeof value === 'string') add(key, value);
    else for (const [versionArch, id] of Object.entries(value)) add(`${key}${versionArch}`, id);
  }
  return flat;
}
