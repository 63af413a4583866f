import { JsonTemplate } from './schema.js';

// A look into a build file before it runs: does it need a cloud to validate,
// and where does its manifest post-processor write.

export interface TemplateFacts {
  /** An `openstack` builder: `packer validate` logs in to Keystone. */
  openstack: boolean;
  /** The template names its own identity endpoint or cloud. */
  ownsCloud: boolean;
  /** Outputs of its manifest post-processors, `{{user `x`}}` filled from the var file; unresolved ones left out. */
  manifests: string[];
}

const USER_VARIABLE = /\{\{\s*user\s+`([^`]+)`\s*\}\}/g;

export function inspectJsonTemplate(text: string, variables: Record<string, unknown>): TemplateFacts {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { openstack: false, ownsCloud: false, manifests: [] };
  }
  const parsed = JsonTemplate.safeParse(raw);
  if (!parsed.success) return { openstack: false, ownsCloud: false, manifests: [] };
  const template = parsed.data;
  const values: Record<string, unknown> = { ...template.variables, ...variables };
  const openstack = template.builders.filter((builder) => builder.type === 'openstack');
  const manifests: string[] = [];
  for (const entry of template['post-processors'].flat()) {
    if (typeof entry === 'string' ? entry !== 'manifest' : entry.type !== 'manifest') continue;
    const output = (typeof entry === 'string' ? undefined : entry.output) ?? 'packer-manifest.json';
    const filled = output.replace(USER_VARIABLE, (whole, name: string) => (typeof values[name] === 'string' ? values[name] : whole));
    if (!filled.includes('{{')) manifests.push(filled);
  }
  return {
    openstack: openstack.length > 0,
    ownsCloud: openstack.length > 0 && openstack.every((builder) => builder.identity_endpoint || builder.cloud),
    manifests,
  };
}

/**
 * HCL2 files are not parsed: an openstack source is found by its block header,
 * a manifest post-processor's output only when it is a literal string.
 */
export function inspectHclTemplate(text: string): TemplateFacts {
  const openstack = /^\s*source\s+"openstack"/m.test(text);
  const manifests: string[] = [];
  for (const block of text.matchAll(/post-processor\s+"manifest"\s*\{([^}]*)/g)) {
    const output = /^\s*output\s*=\s*(.*)$/m.exec(block[1] ?? '');
    const literal = output ? /^"([^"$]*)"\s*$/.exec(output[1]!) : undefined;
    if (!output) manifests.push('packer-manifest.json');
    else if (literal) manifests.push(literal[1]!);
  }
  return { openstack, ownsCloud: openstack && /^\s*(identity_endpoint|cloud)\s*=/m.test(text), manifests };
}
