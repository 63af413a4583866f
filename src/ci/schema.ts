import * as z from 'zod/mini';
import '../shared/zod.js';

// Others' data, read leniently: only the fields the plan uses.

/** images/<key>/image.json as committed: what the render recorded. */
export const ManifestFacts = z.looseObject({
  image_name: z.optional(z.string()),
  source_key: z.optional(z.string()),
  source_image: z.optional(z.string()),
  templates: z._default(z.array(z.looseObject({ template: z.string(), digest: z.optional(z.string()) })), []),
});
export type ManifestFacts = z.infer<typeof ManifestFacts>;

/** GitLab's answer to PUT /projects/:id/resource_groups/:key. */
export const ResourceGroupAnswer = z.looseObject({ key: z.string(), process_mode: z.string() });

/** GitLab's error bodies: `{"message": "404 Not found"}` or `{"error": "…"}`; message may be an object of field errors. */
export const GitlabError = z.looseObject({ message: z.optional(z.unknown()), error: z.optional(z.string()) });
