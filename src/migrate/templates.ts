import { posix } from 'node:path';
import { isLegacyTemplate, renderLegacyTemplate } from '../render/legacy-template.js';
import { parseTemplateMap } from '../resolve/maps.js';
import type { ImageSpec } from '../model.js';
import type { MigrateReport } from './report.js';
import { isDirectory, readSeedFile } from './read-seed.js';
import type { SeedPaths } from './seed-paths.js';
import { TargetNames } from './target-names.js';
import type { PlannedFile } from './write-target.js';

export const TEMPLATE_MAP_TARGET = 'templates/template-map.json';

type Report = Pick<MigrateReport, 'notMapped' | 'warnings'>;

interface Template {
  written: string;
  target: string;
  text: string;
}

/**
 * The template map with repo-relative paths, the templates, and the files the
 * templates name under the seed directory (copied to scripts/). A template's
 * bytes change only where a seed path becomes a repo path; its $NAME, $IMAGE
 * and $METADATA blanks stay for Packuilon to fill.
 */
export async function planTemplates(input: {
  seed: SeedPaths;
  /** As config.ini (or the default) names it, for the report. */
  mapFile: string;
  mapText: string;
  credentialFiles: string[];
  report: Report;
}): Promise<PlannedFile[]> {
  const { seed, report } = input;
  const map = parseTemplateMap(input.mapFile, input.mapText);
  const names = new TargetNames([TEMPLATE_MAP_TARGET]);
  const templates = new Map<string, Template>();
  const targetMap: Record<string, string[]> = {};

  for (const [key, paths] of Object.entries(map)) {
    const kept: string[] = [];
    for (const written of paths) {
      const local = seed.local(written);
      let template = templates.get(local);
      if (!template) {
        const file = await readSeedFile(local);
        const outside = seed.inside(written) === undefined;
        if (!file) {
          report.notMapped.push({ item: `template-map ${key}: ${written}`, reason: outside ? 'template outside the seed directory does not exist' : 'template not found' });
          continue;
        }
        const relative = seed.inside(written);
        const wanted = relative?.startsWith('templates/') ? relative : `templates/${posix.basename(written)}`;
        template = { written, target: names.claim(wanted, local), text: file.bytes.toString('utf8') };
        templates.set(local, template);
        if (outside) report.warnings.push(`${written}: template outside ${seed.dir}, copied to ${template.target}`);
      }
      kept.push(template.target);
    }
    if (kept.length > 0) targetMap[key] = kept;
    else if (key !== 'DEFAULT') report.warnings.push(`template-map ${key}: none of its templates exist, so the key is left out and the image now gets DEFAULT's templates`);
  }

  const scripts = await planReferencedFiles(seed, [...templates.values()], input.credentialFiles, names, report);
  const files: PlannedFile[] = [{ path: TEMPLATE_MAP_TARGET, content: `${JSON.stringify(targetMap, null, 2)}\n`, from: seed.local(input.mapFile) }];
  for (const template of templates.values()) {
    const text = seed.rewrite(template.text, (path) => {
      const relative = seed.inside(path);
      return relative === undefined ? undefined : scripts.targets.get(relative);
    });
    checkTemplate(template.target, text, report);
    files.push({ path: template.target, content: text, from: seed.local(template.written) });
  }
  return [...files, ...scripts.files];
}

/** DIR-relative path → its repo path, for every seed path the templates name that we could carry over. */
async function planReferencedFiles(seed: SeedPaths, templates: Template[], credentialFiles: string[], names: TargetNames, report: Report) {
  const credentials = new Set(credentialFiles.map((path) => seed.inside(path) ?? path));
  const users = new Map<string, { written: string; in: string[] }>();
  for (const template of templates) {
    for (const written of seed.references(template.text)) {
      const key = seed.inside(written) ?? written;
      const entry = users.get(key) ?? { written, in: [] };
      entry.in.push(template.target);
      users.set(key, entry);
    }
  }
  const targets = new Map<string, string>();
  const files: PlannedFile[] = [];
  for (const [relative, { written, in: where }] of users) {
    const leave = (reason: string) => report.notMapped.push({ item: `${written} (in ${where.join(', ')})`, reason: `${reason}; left as written` });
    const local = posix.join(seed.dir, relative);
    const template = templates.find((candidate) => seed.local(candidate.written) === local);
    if (seed.inside(written) === undefined) leave('points outside the seed directory');
    else if (credentials.has(relative)) leave('a credentials file (PACKER_AUTH_FILE / PACKER_ADMIN_AUTH): never copied into the repo');
    else if (template) targets.set(relative, template.target);
    else {
      const file = await readSeedFile(local);
      if (file && CREDENTIALS_INSIDE.test(file.bytes.toString('utf8'))) leave('it sets OpenStack credentials: never copied into the repo');
      else if (file) {
        const target = names.claim(`scripts/${posix.basename(relative)}`, local);
        targets.set(relative, target);
        files.push({ path: target, content: file.bytes, from: local, executable: file.executable });
      } else leave((await isDirectory(local)) ? 'a directory: not copied' : 'referenced file is missing');
    }
  }
  return { targets, files };
}

// A file that sets these is an openrc, whatever its name: it must not reach git.
const CREDENTIALS_INSIDE = /\bOS_(PASSWORD|APPLICATION_CREDENTIAL_SECRET|TOKEN)\s*=/;

const SAMPLE: ImageSpec = {
  key: 'migrate-sl7x-x86_64',
  name: 'migrate-sl7x-x86_64',
  metadata: { AQ_ARCHETYPE: 'ral-tier1', AQ_DOMAIN: 'prod', AQ_OS: 'sl', AQ_OSVERSION: '7x', AQ_PERSONALITY: 'migrate' },
  sourceKey: 'sl7x-x86_64',
  sourceImage: '00000000-0000-4000-8000-000000000000',
  templates: [],
};

/** Tell now, not at the first profile change, what will not render; and what CI now does instead. */
function checkTemplate(target: string, text: string, report: Report): void {
  if (/rename-old-images/.test(text)) {
    report.warnings.push(`${target}: a post-processor runs rename-old-images.sh; \`packuilon ci promote\` now does that: remove it`);
  }
  if (!target.endsWith('.json')) return;
  try {
    if (isLegacyTemplate(text)) renderLegacyTemplate(target, text, SAMPLE);
    else JSON.parse(text);
  } catch (error) {
    report.warnings.push(`${target}: does not render to JSON: ${(error as Error).message}`);
  }
}
