import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// An image folder as `render` writes it: build files, var files, and the
// image.json manifest listing them in template order.

export interface BuildFileSpec {
  /** e.g. `local.json`; a var file `<base>.vars.json` is written when `vars` is given. */
  file: string;
  template: unknown;
  vars?: Record<string, string>;
}

export function writeImageFolder(repo: string, key: string, imageName: string, files: BuildFileSpec[]): string {
  const dir = join(repo, 'images', key);
  mkdirSync(dir, { recursive: true });
  const templates = [];
  for (const spec of files) {
    writeFileSync(join(dir, spec.file), `${JSON.stringify(spec.template, null, 2)}\n`);
    const listed = [spec.file];
    if (spec.vars) {
      const varFile = spec.file.replace(/\.json$/, '.vars.json');
      writeFileSync(join(dir, varFile), `${JSON.stringify(spec.vars, null, 2)}\n`);
      listed.push(varFile);
    }
    templates.push({ template: `templates/${spec.file}`, digest: 'sha256:0', files: listed });
  }
  const manifest = { image_key: key, image_name: imageName, source_key: 'sl7x-x86_64', source_image: '00000000-0000-0000-0000-000000000000', metadata: {}, profiles: {}, templates, generator: 'test' };
  writeFileSync(join(dir, 'image.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}

/** A null build with shell-local and a manifest post-processor whose custom_data names the image. */
export function localTemplate(options: { name: string; inline?: string[]; imageId?: string }): unknown {
  return {
    variables: { image_name: '', image_key: '' },
    builders: [{ type: 'null', name: options.name, communicator: 'none' }],
    provisioners: [{ type: 'shell-local', environment_vars: ['IMAGE_NAME={{user `image_name`}}'], inline: options.inline ?? ['echo building "$IMAGE_NAME"'] }],
    'post-processors': [{ type: 'manifest', output: `build-out/packer-manifest-${options.name}.json`, custom_data: { image_id: options.imageId ?? `local-${options.name}` } }],
  };
}
