import * as z from 'zod/mini';
import '../shared/zod.js';

// What Packer 1.6.6 writes, with only the fields Packuilon reads (lenient: it is Packer's data).

/** `timestamp,target,type,data...` after the fields are split and unescaped. */
export const MachineReadableFields = z.tuple(
  [z.string().check(z.regex(/^\d+$/)), z.string(), z.string().check(z.regex(/^[a-z][a-z0-9-]*$/))],
  z.string(),
);

/** The manifest post-processor's file: every run appends its builds. */
export const PackerManifestFile = z.object({
  builds: z._default(
    z.array(
      z.object({
        name: z.optional(z.string()),
        builder_type: z.optional(z.string()),
        artifact_id: z.optional(z.nullable(z.string())),
        packer_run_uuid: z.optional(z.string()),
        custom_data: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
      }),
    ),
    [],
  ),
  last_run_uuid: z.optional(z.string()),
});
export type PackerManifestFile = z.infer<typeof PackerManifestFile>;

const PostProcessor = z.union([z.string(), z.object({ type: z.string(), output: z.optional(z.string()) })]);

/** A JSON build file: the builders and post-processors Packuilon looks at. */
export const JsonTemplate = z.object({
  variables: z.optional(z.record(z.string(), z.unknown())),
  builders: z._default(z.array(z.object({ type: z.string(), identity_endpoint: z.optional(z.string()), cloud: z.optional(z.string()) })), []),
  'post-processors': z._default(z.array(z.union([PostProcessor, z.array(PostProcessor)])), []),
});
export type JsonTemplate = z.infer<typeof JsonTemplate>;
