import { config, type core } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini ships no messages; load the English ones once. Schema modules import
// zod/mini by name (never a re-exported namespace) so the bundle keeps only
// what they use: a namespace that escapes would pull in every locale (700 KB).
config(en());

/** `where: a.b.c: message` lines for every issue, the contract's error text. */
export function formatIssues(where: string, error: core.$ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      let message = issue.message;
      if (issue.code === 'unrecognized_keys') message = `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      return `${where}: ${path ? `${path}: ` : ''}${message}`;
    })
    .join('\n');
}
