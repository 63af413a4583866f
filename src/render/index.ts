import type { ImageSpec, ProfileRef, RenderedFile, TemplateSource } from '../model.js';
import { sha256 } from '../shared/digest.js';
import { ConfigError } from '../shared/errors.js';
import { isLegacyTemplate, renderLegacyTemplate } from './legacy-template.js';
import { MANIFEST_FILE, mergeProfiles, renderManifest, sameAsEarlierManifest, type Manifest } from './manifest.js';
import { renderHclVarFile, renderJsonVarFile } from './variables-template.js';

export { stableJson } from './json.js';
export { MANIFEST_FILE, factsOfManifest, parseManifest, profilesOfManifest, type Manifest } from './manifest.js';

export interface RenderInput {
  spec: ImageSpec;
  /** In the order of the template map. */
  templates: TemplateSource[];
  /** Profiles recorded by the manifest now in the repo (they stay behind the image). */
  previousProfiles: Record<string, string>;
  /** The profiles of this change. */
  profiles: ProfileRef[];
  /**
   * Which recorded profiles stay behind the image (those still in Aquilon's
   * index); without it every recorded profile stays.
   */
  keepProfile?: (name: string) => boolean;
  /** The manifest now in the repo: its bytes are kept when they say the same as the new render. */
  previousManifest?: string;
}

/** Everything images/<key>/ holds for this input. Pure: same input, same bytes. */
export function renderImage(input: RenderInput): RenderedFile[] {
  const { spec } = input;
  const files: RenderedFile[] = [];
  const recorded: Manifest['templates'] = [];
  // Two templates writing one file would lose one of them silently (`foo.json` as a variables
  // template writes foo.vars.json, which a legacy `foo.vars.json` writes too).
  const writers = new Map<string, string>([[MANIFEST_FILE, 'the manifest']]);
  for (const template of input.templates) {
    const outputs = renderTemplate(template, spec);
    for (const { file } of outputs) {
      const other = writers.get(file);
      if (other !== undefined) {
        throw new ConfigError(`template map: ${spec.key}: template ${template.path} writes ${file}, which ${other === 'the manifest' ? other : `template ${other}`} writes too; rename one`);
      }
      writers.set(file, template.path);
    }
    files.push(...outputs.map((output) => ({ path: `${spec.key}/${output.file}`, content: output.content })));
    recorded.push({ template: template.path, digest: sha256(template.text), files: outputs.map((output) => output.file) });
  }
  const profiles = mergeProfiles(input.previousProfiles, input.profiles, input.keepProfile);
  const manifest = renderManifest(spec, profiles, recorded);
  const { previousManifest } = input;
  files.push({ path: `${spec.key}/${MANIFEST_FILE}`, content: previousManifest !== undefined && sameAsEarlierManifest(previousManifest, manifest) ? previousManifest : manifest });
  return files;
}

function renderTemplate(template: TemplateSource, spec: ImageSpec): { file: string; content: string }[] {
  if (/\.pkr\.hcl$/i.test(template.path)) {
    return [
      { file: `${template.name}.pkr.hcl`, content: template.text },
      { file: `${template.name}.pkrvars.json`, content: renderHclVarFile(spec) },
    ];
  }
  if (isLegacyTemplate(template.text)) {
    return [{ file: `${template.name}.json`, content: renderLegacyTemplate(template.path, template.text, spec) }];
  }
  return [
    { file: `${template.name}.json`, content: template.text },
    { file: `${template.name}.vars.json`, content: renderJsonVarFile(template.path, template.text, spec) },
  ];
}
