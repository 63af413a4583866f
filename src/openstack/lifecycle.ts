// The image lifecycle as data: from the images Glance holds now and what is
// wanted, the list of steps that converges them. Pure: no I/O, no clock (the
// caller passes `now`). Applying the steps is apply.ts; rerunning a plan on
// the state it produced yields no steps (idempotent), and a plan interrupted
// half-way is completed by the next plan (every step is found from the state,
// and our stamps link a warehoused image to the image that replaced it).
import type { Image, Member } from './schema.js';
import type { PatchOp } from './glance.js';
import { pointer } from './glance.js';

export const STAMP = {
  warehousedAt: 'packuilon_warehoused_at',
  supersededBy: 'packuilon_superseded_by',
  rejectedAt: 'packuilon_rejected_at',
  rolledBackAt: 'packuilon_rolled_back_at',
  imageKey: 'packuilon_image_key',
} as const;

/** Properties the new image takes from the one it replaces (plus promote.copy_properties). */
export const INHERITED = [/^AQ_/, /^os_distro$/, /^os_version$/, /^os_variant$/];

/** One field of one image, before → after: a log line, a row of promote.json. */
export interface Change {
  image: string;
  name: string | null;
  field: string;
  before: unknown;
  after: unknown;
}

export type Step =
  | { kind: 'patch'; image: string; ops: PatchOp[]; changes: Change[]; step: string; needsAdmin?: string }
  | { kind: 'deactivate' | 'reactivate' | 'delete'; image: string; changes: Change[]; step: string }
  | { kind: 'add-member' | 'remove-member'; image: string; member: string; changes: Change[]; step: string }
  | { kind: 'member-status'; image: string; member: string; status: Member['status']; changes: Change[]; step: string; needsAdmin?: string };

export interface LifecycleOptions {
  /** promote.candidate_prefix */
  candidatePrefix: string;
  retire: 'deactivate' | 'hide';
  /** promote.copy_properties */
  copyProperties: string[];
  /** strftime subset (%d %m %Y %y %H %M %S %%), UTC. */
  dateFormat: string;
  now: Date;
}

export interface ImageState {
  image: Image;
  /** Only for shared images (others have none). */
  members: Member[];
}

/** `%d-%m-%Y-%H-%M-%S` → `02-12-2026-17-20-05` (UTC), as the seed's strftime. */
export function formatDate(format: string, date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const parts: Record<string, string> = {
    d: two(date.getUTCDate()), m: two(date.getUTCMonth() + 1), Y: String(date.getUTCFullYear()), y: two(date.getUTCFullYear() % 100),
    H: two(date.getUTCHours()), M: two(date.getUTCMinutes()), S: two(date.getUTCSeconds()), '%': '%',
  };
  return format.replace(/%([dmYyHMS%])/g, (_, c: string) => parts[c]!);
}

/** A regular expression for names `<prefix>-<name>-<date in format>`: group 1 is the name. */
export function datedName(prefix: string, format: string): RegExp {
  const widths: Record<string, string> = { d: '\\d{2}', m: '\\d{2}', Y: '\\d{4}', y: '\\d{2}', H: '\\d{2}', M: '\\d{2}', S: '\\d{2}', '%': '%' };
  const escaped = format.split(/(%[dmYyHMS%])/).map((part) => (part.startsWith('%') && part.length === 2 ? widths[part[1]!]! : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${prefix}-(.+)-${escaped}$`, 's');
}

const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
const byNewest = (a: Image, b: Image) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);
const warehousedTime = (i: Image) => str(i[STAMP.warehousedAt]) ?? i.created_at;

/** The name a candidate is promoted under: its own, without the candidate prefix. */
export function promotedName(name: string, prefix: string): string {
  return prefix && name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : name;
}

function patchStep(image: Image, wanted: Record<string, unknown>, step: string, needsAdmin?: string): Step | undefined {
  const ops: PatchOp[] = [];
  const changes: Change[] = [];
  for (const [field, after] of Object.entries(wanted)) {
    const before = image[field];
    if (before === after) continue;
    if (after === undefined) {
      if (before === undefined) continue;
      ops.push({ op: 'remove', path: pointer(field) });
    } else {
      ops.push({ op: before === undefined ? 'add' : 'replace', path: pointer(field), value: after });
    }
    changes.push({ image: image.id, name: image.name, field, before: before ?? null, after: after ?? null });
  }
  if (!ops.length) return undefined;
  return { kind: 'patch', image: image.id, ops, changes, step, ...(needsAdmin ? { needsAdmin } : {}) };
}

function retireSteps(image: Image, retire: LifecycleOptions['retire']): Step[] {
  if (retire === 'hide') {
    const hide = patchStep(image, { os_hidden: true }, `hide image ${image.id}`);
    return hide ? [hide] : [];
  }
  if (image.status !== 'active') return []; // deactivated already (or never got data: nothing to serve)
  return [{ kind: 'deactivate', image: image.id, step: `deactivate image ${image.id}`, changes: [{ image: image.id, name: image.name, field: 'status', before: image.status, after: 'deactivated' }] }];
}

function warehouseSteps(old: Image, name: string, supersededBy: string, options: LifecycleOptions): { rename?: Step; retire: Step[] } {
  const warehousedName = old.name?.startsWith('warehoused-') && str(old[STAMP.supersededBy]) === supersededBy
    ? old.name
    : `warehoused-${name}-${formatDate(options.dateFormat, options.now)}`;
  const rename = patchStep(old, {
    name: warehousedName,
    [STAMP.warehousedAt]: str(old[STAMP.warehousedAt]) ?? options.now.toISOString(),
    [STAMP.supersededBy]: supersededBy,
  }, `warehouse image ${old.id} (${JSON.stringify(old.name)})`);
  return { ...(rename ? { rename } : {}), retire: retireSteps(old, options.retire) };
}

/**
 * Promote `candidate`: the images it replaces (same promoted name, owned by
 * `project`, or already stamped as superseded by it) are warehoused; it takes
 * their visibility, members and properties, and the provenance.
 */
export function planPromote(candidate: ImageState, owned: ImageState[], project: string, provenance: Record<string, string>, options: LifecycleOptions): Step[] {
  const n = candidate.image;
  const name = promotedName(n.name ?? '', options.candidatePrefix);
  const older = owned
    .filter(({ image: i }) => i.id !== n.id && i.owner === project && (i.name === name || str(i[STAMP.supersededBy]) === n.id))
    .sort((a, b) => byNewest(a.image, b.image));
  const previous = older[0]?.image;
  const wanted: Record<string, unknown> = {};
  const visibility = previous?.visibility ?? n.visibility;
  wanted.visibility = visibility;
  const copied = (key: string) => INHERITED.some((re) => re.test(key)) || options.copyProperties.includes(key);
  for (const { image: o } of older) {
    for (const [key, value] of Object.entries(o)) {
      if (copied(key) && n[key] === undefined && wanted[key] === undefined && value !== undefined) wanted[key] = value;
    }
  }
  Object.assign(wanted, provenance);
  if (n.os_hidden) wanted.os_hidden = false;
  const steps: Step[] = [];
  const adopt = patchStep(n, wanted, `give image ${n.id} the visibility and properties of ${previous ? previous.id : 'its build'}`,
    visibility === 'public' && n.visibility !== 'public' ? 'making an image public' : undefined);
  if (adopt) steps.push(adopt);

  if (visibility === 'shared') {
    const members = [...new Set(older.flatMap((o) => o.members.map((m) => m.member_id)))].sort();
    for (const member of members) {
      const current = candidate.members.find((m) => m.member_id === member);
      if (!current) {
        steps.push({ kind: 'add-member', image: n.id, member, step: `add member ${member} to image ${n.id}`, changes: [{ image: n.id, name: n.name, field: `member ${member}`, before: null, after: 'pending' }] });
      }
      if (current?.status !== 'accepted') {
        steps.push({
          kind: 'member-status', image: n.id, member, status: 'accepted', step: `accept member ${member} of image ${n.id}`,
          needsAdmin: 'accepting a membership for another project',
          changes: [{ image: n.id, name: n.name, field: `member ${member} status`, before: current?.status ?? 'pending', after: 'accepted' }],
        });
      }
    }
  }
  const retiring: Step[] = [];
  for (const { image: o } of older) {
    const { rename, retire } = warehouseSteps(o, name, n.id, options);
    if (rename) steps.push(rename);
    retiring.push(...retire);
  }
  const renamed = patchStep(n, { name }, `rename image ${n.id} to ${JSON.stringify(name)}`);
  if (renamed) steps.push(renamed);
  return [...steps, ...retiring];
}

/** Reject `candidate`: `broken-<name>-<date>`, private, no members. Nothing else is touched. */
export function planReject(candidate: ImageState, options: LifecycleOptions): Step[] {
  const n = candidate.image;
  const steps: Step[] = candidate.members.map((m) => ({
    kind: 'remove-member' as const, image: n.id, member: m.member_id, step: `remove member ${m.member_id} from image ${n.id}`,
    changes: [{ image: n.id, name: n.name, field: `member ${m.member_id}`, before: m.status, after: null }],
  }));
  const brokenName = n.name?.startsWith('broken-') ? n.name : `broken-${promotedName(n.name ?? '', options.candidatePrefix)}-${formatDate(options.dateFormat, options.now)}`;
  const patch = patchStep(n, { name: brokenName, visibility: 'private', [STAMP.rejectedAt]: str(n[STAMP.rejectedAt]) ?? options.now.toISOString() }, `reject image ${n.id}`);
  if (patch) steps.push(patch);
  return steps;
}

/** The images of `key` that are current: stamped with the key, not warehoused, broken or superseded. */
export function currentImages(owned: Image[], key: string, project: string): Image[] {
  return owned.filter((i) => i.owner === project && str(i[STAMP.imageKey]) === key && !/^(warehoused|broken)-/.test(i.name ?? '') && !i[STAMP.supersededBy]);
}

/** Warehoused images of `name`, newest first (our stamp, else created_at for the seed's). */
export function warehousedOf(owned: Image[], name: string, project: string, dateFormat: string): Image[] {
  const pattern = datedName('warehoused', dateFormat);
  return owned
    .filter((i) => i.owner === project && pattern.exec(i.name ?? '')?.[1] === name)
    .sort((a, b) => warehousedTime(b).localeCompare(warehousedTime(a)) || byNewest(a, b));
}

/** Roll `current` back to `restore` (the newest warehoused image of its name). */
export function planRollback(current: Image, restore: Image, options: LifecycleOptions): Step[] {
  const name = current.name ?? '';
  const steps: Step[] = [];
  if (restore.status === 'deactivated') {
    steps.push({ kind: 'reactivate', image: restore.id, step: `reactivate image ${restore.id}`, changes: [{ image: restore.id, name: restore.name, field: 'status', before: 'deactivated', after: 'active' }] });
  }
  const back = patchStep(restore, {
    name, ...(restore.os_hidden ? { os_hidden: false } : {}),
    [STAMP.warehousedAt]: undefined, [STAMP.supersededBy]: undefined, [STAMP.rolledBackAt]: options.now.toISOString(),
  }, `restore image ${restore.id} as ${JSON.stringify(name)}`);
  if (back) steps.push(back);
  const { rename, retire } = warehouseSteps(current, name, restore.id, options);
  if (rename) steps.push(rename);
  return [...steps, ...retire];
}

/** Which warehoused images retention removes: only ours (owner, name pattern, both stamps), beyond `keep` per name. */
export function planPrune(owned: Image[], project: string, options: { keep: number; prune: 'delete' | 'deactivate'; dateFormat: string; names?: string[] }): { steps: Step[]; skipped: { image: string; name: string | null; reason: string }[] } {
  const pattern = datedName('warehoused', options.dateFormat);
  const groups = new Map<string, Image[]>();
  const skipped: { image: string; name: string | null; reason: string }[] = [];
  for (const image of owned) {
    const base = pattern.exec(image.name ?? '')?.[1];
    if (base === undefined || (options.names && !options.names.includes(base))) continue;
    const reason = image.owner !== project ? `owned by ${image.owner ?? 'nobody'}` : !str(image[STAMP.warehousedAt]) || !str(image[STAMP.supersededBy]) ? 'not warehoused by packuilon (no stamps)' : image.protected ? 'protected' : undefined;
    if (reason) {
      skipped.push({ image: image.id, name: image.name, reason });
      continue;
    }
    groups.set(base, [...(groups.get(base) ?? []), image]);
  }
  const steps: Step[] = [];
  for (const images of groups.values()) {
    for (const image of images.sort((a, b) => warehousedTime(b).localeCompare(warehousedTime(a))).slice(options.keep)) {
      if (options.prune === 'delete') {
        steps.push({ kind: 'delete', image: image.id, step: `delete image ${image.id}`, changes: [{ image: image.id, name: image.name, field: 'image', before: image.status, after: 'deleted' }] });
      } else {
        steps.push(...retireSteps(image, 'deactivate'));
      }
    }
  }
  return { steps, skipped };
}
