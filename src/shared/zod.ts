import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini ships no messages; load the English ones once, where schemas are parsed.
z.config(en());

/** `where: a.b.c: message` lines for every issue, the contract's error text. */
export function formatIssues(where: string, error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      let message = issue.message;
      if (issue.code === 'unrecognized_keys') message = `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      return `${where}: ${path ? `${path}: ` : ''}${message}`;
    })
    .join('\n');
}

export { z };
