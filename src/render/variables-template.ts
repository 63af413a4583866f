import type { ImageSpec } from '../model.js';
import { ConfigError } from '../shared/errors.js';
import { stableJson } from './json.js';

/** The variables Packuilon can fill in a variable-based template. */
export function variablesOf(spec: ImageSpec): Record<string, string> {
  const variables: Record<string, string> = {
    image_key: spec.key,
    image_name: spec.name,
    source_image: spec.sourceImage,
  };
  for (const [key, value] of Object.entries(spec.metadata)) variables[key.toLowerCase()] = value;
  return variables;
}

/**
 * A Packer JSON template with `variables`: the template is copied as it is and
 * a var file holds the values, so no value is ever spliced into the template.
 * Only declared variables are written: Packer's JSON templates reject others.
 */
export function renderJsonVarFile(templatePath: string, text: string, spec: ImageSpec): string {
  let template: unknown;
  try {
    template = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`template ${templatePath}: not JSON: ${(error as Error).message}`);
  }
  const declared = (template as { variables?: unknown }).variables;
  if (!declared || typeof declared !== 'object' || Array.isArray(declared)) {
    throw new ConfigError(`template ${templatePath}: has neither $NAME/$IMAGE/$METADATA blanks nor a "variables" object`);
  }
  const values = variablesOf(spec);
  const filled = Object.fromEntries(Object.keys(declared).filter((name) => name in values).map((name) => [name, values[name]]));
  return stableJson(filled);
}

/** HCL2 templates get every variable in a `.pkrvars.json` file (HCL2 only warns on undeclared ones). */
export function renderHclVarFile(spec: ImageSpec): string {
  return stableJson(variablesOf(spec));
}
