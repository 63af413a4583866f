import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadSite, workTreeReader } from '../../flows/site.js';
import { MANIFEST_FILE, profilesOfManifest, renderImage } from '../../render/index.js';
import { parseProfile, resolveImage } from '../../resolve/index.js';
import { sha256 } from '../../shared/digest.js';
import { EXIT, InputError, UsageError } from '../../shared/errors.js';
import { writeFileAtomic } from '../../shared/fs.js';
import { basename } from 'node:path';
import type { CommandContext } from '../io.js';

/** The build files one profile gives, as `detect` would commit them; writes only under --out. */
export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const file = resolve(context.io.cwd, args[0]!);
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new UsageError(`render: cannot read ${file}: ${error.message}`);
  });
  const loaded = context.config();
  const site = await loadSite(loaded, workTreeReader(loaded.paths.repo));
  const name = basename(file);
  let resolution;
  try {
    resolution = resolveImage(parseProfile(name, text), name, site);
  } catch (error) {
    // The profile is this command's argument: a bad one is bad usage, not work to retry.
    if (error instanceof InputError) throw new UsageError(error.message);
    throw error;
  }
  if (resolution.kind === 'skipped') {
    context.io.stdout.write(`render: ${name}: skipped: ${resolution.reason}\n`);
    return EXIT.ok;
  }
  const { spec } = resolution;
  const manifest = await readFile(join(loaded.paths.repo, 'images', spec.key, MANIFEST_FILE), 'utf8').catch(() => undefined);
  const files = renderImage({
    spec,
    templates: [...(await site.readTemplates(spec.templates)).values()],
    previousProfiles: profilesOfManifest(manifest),
    profiles: [{ name, digest: sha256(text) }],
    ...(manifest !== undefined ? { previousManifest: manifest } : {}),
  });
  if (typeof options.out === 'string') {
    const out = resolve(context.io.cwd, options.out);
    for (const rendered of files) await writeFileAtomic(join(out, rendered.path), rendered.content);
    context.io.stdout.write(`render: ${spec.key}: wrote ${files.map((f) => f.path).join(', ')} under ${out}\n`);
  } else {
    for (const rendered of files) context.io.stdout.write(`==> images/${rendered.path} <==\n${rendered.content}${rendered.content.endsWith('\n') ? '' : '\n'}`);
  }
  return EXIT.ok;
}
