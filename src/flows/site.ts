import { readFileSync } from 'node:fs';
import type { LoadedConfig } from '../config/index.js';
import { repoPath } from '../config/index.js';
import type { TemplateSource } from '../model.js';
import { checkImageNameFormat, parseSourceImages, parseTemplateMap, templateNameOf, type Site } from '../resolve/index.js';
import { ConfigError } from '../shared/errors.js';

export interface LoadedSite extends Site {
  /** Template files by their map path, read once. */
  readTemplate(path: string): TemplateSource;
}

function readConfigFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The site's maps and templates: read at the edge, handed to the pure stages as values. */
export function loadSite(loaded: LoadedConfig): LoadedSite {
  const { config, paths } = loaded;
  checkImageNameFormat(config.image_name, `${loaded.source}: image_name`);
  const templateMap = parseTemplateMap(paths.templateMap, readConfigFile(paths.templateMap, 'templates.map'));
  const sourceImages = parseSourceImages(paths.sourceImages, readConfigFile(paths.sourceImages, 'templates.sources'));
  const cache = new Map<string, TemplateSource>();
  return {
    imageNameFormat: config.image_name,
    templateMap,
    sourceImages,
    readTemplate(path) {
      let template = cache.get(path);
      if (!template) {
        const text = readConfigFile(repoPath(paths.repo, path), `${paths.templateMap}: template ${path}`);
        template = { path, name: templateNameOf(path), text };
        cache.set(path, template);
      }
      return template;
    },
  };
}
