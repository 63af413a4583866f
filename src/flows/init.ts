import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { FORGE_KEYS_COMMENT } from '../config/index.js';
import { ConfigError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/fs.js';
import { VERSION } from '../version.js';

/** The files a new image repo starts with, taken from this package's own repo layout. */
const SCAFFOLD = [
  'templates/managed.json',
  'templates/unmanaged.json',
  'templates/variables-example.json',
  'templates/local.json',
  'templates/template-map.json',
  'images/source-images.json',
  'scripts/update_ccm_conf.sh',
  'scripts/cloud-init.txt',
  'templates/rally/boot-and-delete.yaml',
  'templates/rally/boot-runcommand-delete.yaml',
  'templates/rally/check-image.sh',
];

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !readFileSync(join(dir, 'package.json'), 'utf8').includes('"name": "packuilon"')) {
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError('cannot find the packuilon package directory (templates/)');
    dir = parent;
  }
  return dir;
}

export interface InitOptions {
  dir: string;
  indexUrl?: string;
  indexDir?: string;
  match: string;
  remote?: string;
}

/** Plan every file first, refuse to overwrite a different one, then write: nothing half-done. */
export async function scaffoldImageRepo(options: InitOptions): Promise<string[]> {
  const root = packageRoot();
  const files = new Map<string, string>();
  for (const path of SCAFFOLD) files.set(path, readFileSync(join(root, path), 'utf8'));
  const aquilon = options.indexDir
    ? { index_dir: options.indexDir, match: options.match }
    : { index_url: options.indexUrl ?? 'http://aquilon.example.org/profiles/profiles-info.xml', match: options.match };
  const config = {
    aquilon,
    state_dir: '.packuilon/state',
    trigger: 'direct',
    repo: { path: '.', branch: 'main', ...(options.remote ? { remote: options.remote } : {}) },
    templates: { map: 'templates/template-map.json', sources: 'images/source-images.json' },
    image_name: '{personality}-{os}{os_version}-{arch}',
  };
  files.set('packuilon.yaml', `# Packuilon configuration: see the README's Configuration section.\n${stringify(config)}${FORGE_KEYS_COMMENT}`);
  files.set('.gitignore', '.packuilon/\nout/\nnode_modules/\n.gitlab-ci-local/\n');
  // The image pipeline, and the tool version its jobs run: upgrading is a reviewed commit.
  files.set('.gitlab-ci.yml', readFileSync(join(root, 'templates/ci/gitlab-ci.yml'), 'utf8'));
  files.set('package.json', `${JSON.stringify({ name: 'packuilon-images', private: true, description: 'image repo: Packer build files rendered by packuilon', devDependencies: { packuilon: VERSION } }, null, 2)}\n`);
  const conflicts = [...files].filter(([path, content]) => existsSync(join(options.dir, path)) && readFileSync(join(options.dir, path), 'utf8') !== content);
  if (conflicts.length) throw new ConfigError(`init: ${join(options.dir, conflicts[0]![0])} exists with other content; not overwriting (${conflicts.length} file(s) differ)`);
  for (const [path, content] of files) await writeFileAtomic(join(options.dir, path), content);
  return [...files.keys()];
}
