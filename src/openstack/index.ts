export { resolveCredentials, cloudFiles, type Credentials, type CredentialOptions, type AuthMethod } from './credentials.js';
export { createSession, AuthError, PermissionError, OpenstackError, type Session, type SessionOptions } from './session.js';
export { createGlance, pointer, type ImageStore, type PatchOp } from './glance.js';
export type { Image, Member } from './schema.js';
