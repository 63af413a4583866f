import { posix, resolve } from 'node:path';
import { Document } from 'yaml';
import { Config, FORGE_KEYS_COMMENT } from '../config/schema.js';
import { ConfigError, InternalError } from '../shared/errors.js';
import { formatIssues } from '../shared/zod.js';
import { parseIni } from './ini.js';
import { isDirectory, readSeedFile } from './read-seed.js';
import type { MigrateReport, Trigger } from './report.js';
import { SeedPaths } from './seed-paths.js';
import { mapSettings } from './settings.js';
import { planSourceImages } from './source-images.js';
import { planTemplates, TEMPLATE_MAP_TARGET } from './templates.js';
import { writeTarget, type PlannedFile } from './write-target.js';

export interface MigrateOptions {
  /** The seed directory, e.g. /etc/packer-utils. */
  from: string;
  /** The image repo to write into. */
  into: string;
  trigger?: Trigger;
}

const SOURCES_TARGET = 'images/source-images.json';

/** Read the whole seed directory, plan every file, then write them (or none, on a conflict). */
export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  const from = resolve(options.from);
  const into = resolve(options.into);
  const trigger = options.trigger ?? 'direct';
  if (!(await isDirectory(from))) throw new ConfigError(`${from}: not a readable directory (expected a seed /etc/packer-utils)`);
  const report: MigrateReport = { from, into, trigger, written: [], mapped: [], notMapped: [], warnings: [], nextSteps: [] };
  const seed = new SeedPaths(from);
  const read = async (path: string, what: string) => {
    const file = await readSeedFile(seed.local(path));
    if (!file) throw new ConfigError(`${seed.local(path)}: not found (${what}); is ${from} a seed /etc/packer-utils?`);
    return file.bytes.toString('utf8');
  };

  const ini = parseIni(await read('config.ini', 'the seed configuration'));
  for (const problem of ini.problems) report.notMapped.push({ item: `config.ini line ${problem.line}`, reason: `${problem.text}; ignored` });
  const settings = mapSettings(ini, trigger, report);

  const mapFile = settings.templateMap ?? 'template-map.json';
  const sourcesFile = settings.sourceImages ?? 'source-images.json';
  const templateFiles = await planTemplates({ seed, mapFile, mapText: await read(mapFile, 'the template map'), credentialFiles: settings.credentialFiles, report });
  const sources = planSourceImages(seed.local(sourcesFile), await read(sourcesFile, 'the source-image map'), report);

  const config = { ...settings.config, templates: { map: TEMPLATE_MAP_TARGET, sources: SOURCES_TARGET } };
  const files: PlannedFile[] = [
    { path: 'packuilon.yaml', content: configYaml(config, posix.join(from, 'config.ini')), from: posix.join(from, 'config.ini') },
    ...templateFiles,
    { path: SOURCES_TARGET, content: sources, from: seed.local(sourcesFile) },
  ];
  report.written = await writeTarget(into, files);
  report.nextSteps.push(...settings.secretEnvironment.map(({ variable, setting }) => `set ${variable} (the ${setting} of config.ini, with its credentials) where Packuilon runs`));
  report.nextSteps.push(...nextSteps(report, ini.entries.some((entry) => entry.key === 'RABBIT_PW')));
  return report;
}

function configYaml(config: object, origin: string): string {
  // What we write must load: a failure here is our bug, not the site's.
  const checked = Config.safeParse(config);
  if (!checked.success) throw new InternalError(formatIssues('migrated packuilon.yaml', checked.error));
  const document = new Document(config);
  document.commentBefore = [
    ` Packuilon configuration, migrated by \`packuilon migrate\` from ${origin}.`,
    ' No secret belongs here: the broker password comes from the environment',
    ' (PACKUILON_QUEUE_URL=amqp://user:password@host:port/, or queue.password_env).',
  ].join('\n');
  return `${document.toString()}${FORGE_KEYS_COMMENT}`;
}

function nextSteps(report: MigrateReport, hadPassword: boolean): string[] {
  const steps: string[] = [];
  if (hadPassword) steps.push('set PACKUILON_QUEUE_URL (with the broker password that was RABBIT_PW) where Packuilon runs');
  steps.push('run `packuilon detect --baseline` once, so the first pass does not rebuild every image');
  if (report.trigger === 'direct') steps.push('trigger is direct: `packuilon detect` renders and commits itself; migrate with --trigger queue to keep the broker between detect and consume');
  else steps.push('trigger is queue: stop cdb2rabbit and rabbit2packer before `packuilon detect` and `packuilon consume` take over the queue');
  if (report.written.some((file) => file.path.startsWith('scripts/'))) {
    steps.push('the templates now name scripts/… relative to the repo root: Packer resolves such paths from its working directory, so run it from the repo root');
  }
  if (report.warnings.length > 0) steps.push('read the warnings above: the templates may need a hand');
  return steps;
}
