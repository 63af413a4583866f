import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
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
 * the branch), or from the work tree (`render`). Templates outside the repo
 * (absolute paths, as the seed used) are read from the file system.
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
  const sourceImages = parseSourceImages(paths.sourceImages, need(sourcesPath, 'templates.sources'));
  return {
    imageNameFormat: config.image_name,
    templateMap,
    sourceImages,
    async readTemplates(templatePaths) {
      const unique = [...new Set(templatePaths)];
      const inRepo = await read(unique.filter((path) => !isAbsolute(path)));
      const templates = new Map<string, TemplateSource>();
      for (const path of unique) {
        let text = inRepo.get(path);
        if (isAbsolute(path)) {
          const bytes = await readFile(path).catch(() => undefined);
          text = bytes === undefined ? undefined : fileText(path, bytes);
        }
        if (text === undefined) throw new ConfigError(`${paths.templateMap}: template ${path} not found${isAbsolute(path) ? '' : ' in the image repo'}`);
        templates.set(path, { path, name: templateNameOf(path), text });
      }
      return templates;
    },
  };
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
