export { resolveCredentials, cloudFiles, type Credentials, type CredentialOptions, type AuthMethod } from './credentials.js';
export { createSession, AuthError, PermissionError, OpenstackError, type Session, type SessionOptions } from './session.js';
export { createGlance, pointer, type ImageStore, type PatchOp } from './glance.js';
export type { Image, Member } from './schema.js';
export { planPromote, planReject, planRollback, planPrune, currentImages, warehousedOf, promotedName, formatDate, datedName, STAMP, type Change, type Step, type LifecycleOptions, type ImageState } from './lifecycle.js';
export { applySteps, checkRoles, type ApplyResult } from './apply.js';
export { uploadDiskImage, type UploadRequest, type Uploaded } from './upload.js';
