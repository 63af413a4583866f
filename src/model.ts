// Shared nouns of the flow. Stages exchange these plain values.

/** `<personality>-<os><osversion>-<arch>`, e.g. `nubesvms-centos7x-x86_64`. */
export type ImageKey = string;

/** `sha256:<hex>` of a profile's bytes as Aquilon served them (decompressed). */
export type Digest = string;

export type Branch =
  | { type: 'domain'; name: string }
  | { type: 'sandbox'; name: string; author: string };

/** The fields of a compiled Aquilon profile that Packuilon uses. */
export interface ProfileFacts {
  personality: string;
  archetype: string;
  os: string;
  osVersion: string;
  arch: string;
  hostname?: string;
  branch: Branch;
}

/** A profile as it arrived: its name (file name in the Aquilon index), bytes and digest. */
export interface ProfileInput {
  name: string;
  text: string;
  digest: Digest;
}

export interface ProfileRef {
  name: string;
  digest: Digest;
}

export interface TemplateSource {
  /** Path as written in the template map, relative to the repo (never leaving it). */
  path: string;
  /** Output base name inside images/<key>/, e.g. `managed`. */
  name: string;
  text: string;
}

export interface ImageSpec {
  key: ImageKey;
  name: string;
  metadata: Record<string, string>;
  sourceKey: string;
  sourceImage: string;
  templates: string[];
  /** The facts it was resolved from: recorded in the manifest so `rerender` needs no profile. */
  facts?: ProfileFacts;
}

/** A file under images/: `path` is relative to images/ (`<key>/<file>`). */
export interface RenderedFile {
  path: string;
  content: string;
}

export type Trigger = 'detect' | 'queue' | 'submit' | 'rerender';

export interface Trailers {
  profiles: ProfileRef[];
  trigger: Trigger;
  messageIds: string[];
  /** `Packuilon-Version:`; the running release when absent. */
  version?: string;
}

/** Everything images/<key>/ should hold after one change, and why. */
export interface ImageChange {
  key: ImageKey;
  files: RenderedFile[];
  subject: string;
  trailers: Trailers;
}

/** Headers of a profile message on the queue: part of the contract with other publishers. */
export const MESSAGE_HEADER = {
  /** The profile's name in the Aquilon index. */
  profile: 'packuilon-profile',
  /** `sha256:<hex>` of the profile bytes. */
  digest: 'packuilon-profile-digest',
} as const;
