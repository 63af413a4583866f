import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { MANIFEST_FILE, factsOfManifest, renderImage, type Manifest } from '../render/index.js';
import { sha256 } from '../shared/digest.js';
import { runTool } from '../shared/exec.js';
import type { Logger } from '../shared/log.js';
import { runCiPlan } from './ci-plan.js';
import { loadSite, workTreeReader } from './site.js';

export interface CiValidateOptions {
  from?: string;
  to?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

export interface CiValidateResult {
  /** The images checked: those the range changed (stale ones included). */
  checked: string[];
  /** One line each, naming the file. */
  problems: string[];
  warnings: string[];
}

const VAR_FILE = /\.(vars\.json|pkrvars\.json)$/;

/**
 * The merge-request gate: the config and maps load (schemas), every build file
 * of a changed image parses, `packer validate` accepts it, and re-rendering the
 * image from its manifest with the committed templates gives the committed
 * bytes (a hand edit fails, naming the file).
 */
export async function runCiValidate(loaded: LoadedConfig, options: CiValidateOptions): Promise<CiValidateResult> {
  const repo = loaded.paths.repo;
  const site = await loadSite(loaded, workTreeReader(repo)); // config, template map and source map schemas
  const { plan } = await runCiPlan(loaded, { ...options, resourceGroups: false });
  const keys = plan.images.filter((image) => image.action !== 'deleted').map((image) => image.key);
  const problems: string[] = [];
  const warnings: string[] = [];
  const syntaxOnly = !options.env.OS_AUTH_URL && !options.env.OS_CLOUD;
  if (syntaxOnly && keys.length) warnings.push('packer validate -syntax-only: no cloud configured (OS_AUTH_URL or OS_CLOUD): the builders were not checked against OpenStack');

  for (const key of keys) {
    const dir = join(repo, 'images', key);
    const committed = new Map<string, string>();
    for (const file of (await readdir(dir).catch(() => [])).sort()) committed.set(file, await readFile(join(dir, file), 'utf8'));
    const where = (file: string) => `images/${key}/${file}`;
    for (const [file, text] of committed) {
      if (!file.endsWith('.json')) continue;
      try {
        JSON.parse(text);
      } catch (error) {
        problems.push(`${where(file)}: not JSON: ${(error as Error).message}`);
      }
    }
    const manifestText = committed.get(MANIFEST_FILE);
    if (manifestText === undefined) {
      problems.push(`${where(MANIFEST_FILE)}: missing: the image cannot be re-rendered`);
      continue;
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(manifestText) as Manifest;
      if (!Array.isArray(manifest.templates)) throw new Error('no templates list');
    } catch (error) {
      problems.push(`${where(MANIFEST_FILE)}: not a manifest: ${(error as Error).message}`);
      continue;
    }
    problems.push(...(await driftOf(key, manifest, committed, site)));
    for (const file of [...committed.keys()].filter((f) => f !== MANIFEST_FILE && !VAR_FILE.test(f) && /\.(json|pkr\.hcl)$/.test(f))) {
      const varFile = [file.replace(/\.json$/, '.vars.json'), file.replace(/\.pkr\.hcl$/, '.pkrvars.json')].find((v) => v !== file && committed.has(v));
      const args = ['validate', ...(syntaxOnly ? ['-syntax-only'] : []), ...(varFile ? [`-var-file=${where(varFile)}`] : []), where(file)];
      const result = await runTool('packer', args, { cwd: repo, timeoutMs: 300_000, env: { CHECKPOINT_DISABLE: '1' } });
      if (result.exitCode !== 0) {
        const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
        problems.push(`${where(file)}: packer validate failed (exit ${result.exitCode}): ${tail}`);
      }
    }
  }
  return { checked: keys, problems, warnings };
}

/** Re-render from the manifest's recorded inputs with the committed templates; every byte must match. */
async function driftOf(key: string, manifest: Manifest, committed: Map<string, string>, site: Awaited<ReturnType<typeof loadSite>>): Promise<string[]> {
  const paths = manifest.templates.map((t) => t.template);
  let templates;
  try {
    templates = await site.readTemplates(paths);
  } catch (error) {
    return [`images/${key}/${MANIFEST_FILE}: ${(error as Error).message}`];
  }
  const moved = manifest.templates.filter((t) => sha256(templates.get(t.template)!.text) !== t.digest);
  // A template changed since the render: the image is stale (ci plan names it), not hand-edited.
  if (moved.length) return [];
  let files;
  try {
    files = renderImage({
      spec: {
        key,
        name: manifest.image_name,
        metadata: manifest.metadata,
        sourceKey: manifest.source_key,
        sourceImage: manifest.source_image,
        templates: paths,
        ...(() => {
          const facts = factsOfManifest(manifest);
          return 'problem' in facts ? {} : { facts };
        })(),
      },
      templates: paths.map((path) => templates.get(path)!),
      previousProfiles: manifest.profiles,
      profiles: [],
      // A manifest written before the version left it (with `generator`) still counts as the same render.
      ...(committed.has(MANIFEST_FILE) ? { previousManifest: committed.get(MANIFEST_FILE)! } : {}),
    });
  } catch (error) {
    return [`images/${key}/${MANIFEST_FILE}: cannot re-render: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const rendered = new Map(files.map((file) => [file.path.slice(key.length + 1), file.content]));
  for (const [file, content] of rendered) {
    const have = committed.get(file);
    if (have === undefined) problems.push(`images/${key}/${file}: missing (the re-render of ${MANIFEST_FILE} makes it)`);
    else if (have !== content) problems.push(`images/${key}/${file}: differs from the re-render of ${MANIFEST_FILE} with the committed templates (edited by hand?)`);
  }
  for (const file of committed.keys()) {
    if (!rendered.has(file)) problems.push(`images/${key}/${file}: not made by the render (a file added by hand?)`);
  }
  return problems;
}
