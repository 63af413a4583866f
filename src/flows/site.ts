import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import type { TemplateSource } from '../model.js';
import { checkImageNameFormat, parseSourceImages, parseTemplateMap, templateNameOf, type Site } from '../resolve/index.js';
import { ConfigError } from '../shared/errors.js';
import { fileText } from '../shared/profile-text.js';

/** Reads repo-relative files; absent ones are left out of the map. */
export type FileReader = (paths: string[]) => Promise<Map<string, string>>;

export interface LoadedSite extends Site {
  readTemplates(paths: string[]): Promise<Map<string, TemplateSource>>;
}

function repoRelative(loaded: LoadedConfig, absolute: string): string {
  const prefix = `${loaded.paths.repo}/`;
  if (!absolute.startsWith(prefix)) throw new ConfigError(`${absolute}: must be inside the image repo ${loaded.paths.repo}`);
  return absolute.slice(prefix.length);
}

/**
 * The site's maps and templates, read through `read`: from the commit the
 * changes are built on (so a consumer never renders with templates older than
 * the branch), or from the work tree (`render`). Every template lives in the
 * image repo: a path that leaves it (absolute, as the seed wrote them, or
 * through `..`) is a config error in every command, whatever the profile.
 */
export async function loadSite(loaded: LoadedConfig, read: FileReader): Promise<LoadedSite> {
  const { config, paths } = loaded;
  checkImageNameFormat(config.image_name, `${loaded.source}: image_name`);
  const mapPath = repoRelative(loaded, paths.templateMap);
  const sourcesPath = repoRelative(loaded, paths.sourceImages);
  const files = await read([mapPath, sourcesPath]);
  const need = (path: string, field: string) => {
    const text = files.get(path);
    if (text === undefined) throw new ConfigError(`${field}: ${path} is not in the image repo (commit it first)`);
    return text;
  };
  const templateMap = parseTemplateMap(paths.templateMap, need(mapPath, 'templates.map'));
  for (const [key, list] of Object.entries(templateMap)) for (const path of list) checkTemplatePath(paths.templateMap, key, path);
  const sourceImages = parseSourceImages(paths.sourceImages, need(sourcesPath, 'templates.sources'));
  return {
    imageNameFormat: config.image_name,
    templateMap,
    sourceImages,
    async readTemplates(templatePaths) {
      const unique = [...new Set(templatePaths)];
      const inRepo = await read(unique);
      const templates = new Map<string, TemplateSource>();
      for (const path of unique) {
        const text = inRepo.get(path);
        if (text === undefined) throw new ConfigError(`${paths.templateMap}: template ${path} not found in the image repo`);
        templates.set(path, { path, name: templateNameOf(path), text });
      }
      return templates;
    },
  };
}

/** A template path must be a plain path inside the repo: git reads it from the commit as written. */
function checkTemplatePath(mapFile: string, key: string, path: string): void {
  const plain = path === posix.normalize(path) && !path.startsWith('/') && !path.startsWith('../') && path !== '..' && !path.includes('\\');
  if (!plain) {
    throw new ConfigError(`${mapFile}: ${key}: template ${JSON.stringify(path.slice(0, 80))} is not a path inside the image repo; commit the template there and name it relative to repo.path (packuilon migrate copies a seed's templates in)`);
  }
}

/** The work tree as a FileReader, for commands that show rather than commit. */
export function workTreeReader(repo: string): FileReader {
  return async (paths) => {
    const entries = await Promise.all(
      paths.map(async (path) => {
        const bytes = await readFile(join(repo, path)).catch(() => undefined);
        return [path, bytes === undefined ? undefined : fileText(path, bytes)] as const;
      }),
    );
    return new Map(entries.filter((entry): entry is readonly [string, string] => entry[1] !== undefined));
  };
}
