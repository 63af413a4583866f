import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadSite, workTreeReader } from '../../flows/site.js';
import { MANIFEST_FILE, profilesOfManifest, renderImage } from '../../render/index.js';
import { parseProfile, resolveImage } from '../../resolve/index.js';
import { profileDigest } from '../../shared/digest.js';
import { BadBodyError, gunzipLimited } from '../../shared/gunzip.js';
import { profileText } from '../../shared/profile-text.js';
import { EXIT, InputError, UsageError } from '../../shared/errors.js';
import { writeFileAtomic } from '../../shared/fs.js';
import { basename } from 'node:path';
import type { CommandContext } from '../io.js';

/** The build files one profile gives, as `detect` would commit them; writes only under --out. */
export async function run(context: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const file = resolve(context.io.cwd, args[0]!);
  const bytes = await readFile(file).catch((error: Error) => {
    throw new UsageError(`render: cannot read ${file}: ${error.message}`);
  });
  const loaded = context.config();
  const name = basename(file);
  let text: string;
  let resolution;
  let site;
  try {
    // As detect reads it: a .gz decompressed (capped like a download), the bytes UTF-8.
    text = profileText(name, name.endsWith('.gz') ? await gunzipProfile(name, bytes, loaded.config.queue.max_message_bytes) : bytes);
    site = await loadSite(loaded, workTreeReader(loaded.paths.repo));
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
    profiles: [{ name, digest: profileDigest(Buffer.from(text), text) }],
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

async function gunzipProfile(name: string, bytes: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipLimited(bytes, maxBytes);
  } catch (error) {
    if (error instanceof BadBodyError) throw new InputError(name, '', `not a usable .gz file: ${error.message}`);
    throw error;
  }
}
