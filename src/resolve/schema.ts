import * as z from 'zod/mini';
import '../shared/zod.js';

// Lenient for Aquilon's data: only the fields we use, everything else passes.
const named = z.looseObject({ name: z.string() });

export const ProfileDocument = z.looseObject({
  system: z.looseObject({
    personality: named,
    archetype: named,
    os: z.looseObject({
      distribution: named,
      version: named,
      architecture: z.string(),
    }),
    network: z.optional(z.looseObject({ hostname: z.optional(z.string()) })),
  }),
  metadata: z.looseObject({
    template: z.looseObject({
      branch: z.union([
        z.looseObject({ type: z.literal('domain'), name: z.string() }),
        z.looseObject({ type: z.literal('sandbox'), name: z.string(), author: z.string() }),
      ]),
    }),
  }),
});

/** Template map: image key → templates; `DEFAULT` for keys without their own entry. */
export const TemplateMap = z.record(z.string(), z.array(z.string().check(z.minLength(1))));

/** Source images: flat `<os><osversion>-<arch>` → image ID, or the seed's nested `os → <osversion>-<arch> → ID`. */
export const SourceImages = z.record(z.string(), z.union([z.string(), z.record(z.string(), z.string())]));
