// What enters from Keystone, Glance and clouds.yaml: only the fields we use,
// lenient about the rest (their data, not ours).
import * as z from 'zod/mini';
import '../shared/zod.js';

const Named = z.object({ id: z.string(), name: z.optional(z.string()) });

export const Endpoint = z.object({
  interface: z.string(),
  region: z.optional(z.nullable(z.string())),
  region_id: z.optional(z.nullable(z.string())),
  url: z.string().check(z.regex(/^https?:\/\//)),
});

export const CatalogEntry = z.object({
  type: z.string(),
  name: z.optional(z.string()),
  endpoints: z.array(Endpoint),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

export const TokenBody = z.object({
  token: z.object({
    expires_at: z.string(),
    user: z.object({ id: z.string(), name: z.string() }),
    project: z.optional(Named),
    domain: z.optional(Named),
    roles: z._default(z.array(Named), []),
    catalog: z._default(z.array(CatalogEntry), []),
  }),
});
export type TokenBody = z.infer<typeof TokenBody>;

/** A Glance v2 image: the fields we read typed; custom properties (AQ_*, packuilon_*) are plain top-level keys. */
export const Image = z.looseObject({
  id: z.string(),
  name: z.nullable(z.string()),
  status: z.string(),
  visibility: z.enum(['public', 'private', 'shared', 'community']),
  owner: z.nullable(z.string()),
  created_at: z.string(),
  updated_at: z.optional(z.string()),
  os_hidden: z._default(z.boolean(), false),
  protected: z._default(z.boolean(), false),
});
export type Image = z.infer<typeof Image>;

export const ImageList = z.object({
  images: z.array(Image),
  next: z.optional(z.string()),
});

export const Member = z.object({
  member_id: z.string(),
  image_id: z.string(),
  status: z.enum(['pending', 'accepted', 'rejected']),
});
export type Member = z.infer<typeof Member>;

export const MemberList = z.object({ members: z.array(Member) });

/** Keystone and Glance error bodies differ; both carry a message somewhere. */
export const ErrorBody = z.object({
  error: z.optional(z.object({ message: z.optional(z.string()), title: z.optional(z.string()) })),
  message: z.optional(z.string()),
  title: z.optional(z.string()),
});

const text = z.string().check(z.minLength(1));
/** One cloud of clouds.yaml (secure.yaml merged in): the keys keystoneauth reads. */
export const CloudEntry = z.looseObject({
  auth_type: z.optional(z.enum(['password', 'v3password', 'v3applicationcredential', 'application_credential'])),
  auth: z._default(
    z.looseObject({
      auth_url: z.optional(text),
      username: z.optional(text),
      user_id: z.optional(text),
      password: z.optional(text),
      project_name: z.optional(text),
      project_id: z.optional(text),
      domain_name: z.optional(text),
      domain_id: z.optional(text),
      user_domain_name: z.optional(text),
      user_domain_id: z.optional(text),
      project_domain_name: z.optional(text),
      project_domain_id: z.optional(text),
      application_credential_id: z.optional(text),
      application_credential_name: z.optional(text),
      application_credential_secret: z.optional(text),
    }),
    {},
  ),
  region_name: z.optional(text),
  interface: z.optional(text),
  identity_api_version: z.optional(z.union([z.string(), z.number()])),
});
export type CloudEntry = z.infer<typeof CloudEntry>;

export const CloudsFile = z.looseObject({ clouds: z._default(z.record(z.string(), z.unknown()), {}) });
