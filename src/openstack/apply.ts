// Applying a lifecycle plan: one Glance call per step, one log line per changed
// field (image, field, before → after), the changes collected as they happen so
// a failure still reports what was done.
import type { Logger } from '../shared/log.js';
import type { ImageStore } from './glance.js';
import type { Change, Step } from './lifecycle.js';
import { PermissionError } from './session.js';

export interface ApplyOptions {
  log: Logger;
  /** Called after each step (tests stop a run half-way here, as a kill would). */
  afterStep?: (step: Step, index: number) => void | Promise<void>;
}

export interface ApplyResult {
  changes: Change[];
  /** The step that failed, and why; the changes before it were made. */
  failed?: { step: string; error: Error };
}

/**
 * Refuse up front, before any change, a plan whose steps need the admin role
 * the identity does not have (Glance's default policy: public images, and
 * accepting memberships for other projects): nothing is left half-done.
 */
export function checkRoles(steps: Step[], roles: string[], who: string, project: string | undefined): void {
  if (roles.includes('admin')) return;
  const step = steps.find((s) => 'needsAdmin' in s && s.needsAdmin);
  if (step && 'needsAdmin' in step) {
    throw new PermissionError(step.step, `${step.needsAdmin} needs the admin role in project ${project ?? '?'} (the promote job's identity); it has ${roles.join(', ') || 'no roles'}; nothing was changed`, who);
  }
}

export async function applySteps(store: ImageStore, steps: Step[], options: ApplyOptions): Promise<ApplyResult> {
  const changes: Change[] = [];
  for (const [index, step] of steps.entries()) {
    try {
      switch (step.kind) {
        case 'patch': await store.patch(step.image, step.ops, step.step); break;
        case 'deactivate': await store.deactivate(step.image); break;
        case 'reactivate': await store.reactivate(step.image); break;
        case 'delete': await store.remove(step.image); break;
        case 'add-member': await store.addMember(step.image, step.member); break;
        case 'remove-member': await store.removeMember(step.image, step.member); break;
        case 'member-status': await store.setMemberStatus(step.image, step.member, step.status); break;
      }
    } catch (error) {
      options.log.error({ step: step.step, image: step.image, err: (error as Error).message }, 'image step failed');
      return { changes, failed: { step: step.step, error: error as Error } };
    }
    for (const change of step.changes) {
      options.log.info({ image: change.image, imageName: change.name, field: change.field, before: change.before, after: change.after }, 'image changed');
      changes.push(change);
    }
    await options.afterStep?.(step, index);
  }
  return { changes };
}
