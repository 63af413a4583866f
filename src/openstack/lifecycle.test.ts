import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDate, datedName, promotedName, planPromote, planPrune, planReject, type LifecycleOptions } from './lifecycle.js';
import type { Image } from './schema.js';

const now = new Date(Date.UTC(2026, 11, 2, 7, 5, 9));
const options: LifecycleOptions = { candidatePrefix: 'Next-', retire: 'deactivate', copyProperties: [], dateFormat: '%d-%m-%Y-%H-%M-%S', now };
const img = (id: string, fields: Partial<Image> & Record<string, unknown> = {}): Image => ({
  id, name: id, status: 'active', visibility: 'shared', owner: 'P', created_at: '2026-01-01T00:00:00Z', os_hidden: false, protected: false, ...fields,
});

test('dates and names: the seed\'s format, and names that look like patterns', () => {
  assert.equal(formatDate('%d-%m-%Y-%H-%M-%S', now), '02-12-2026-07-05-09');
  assert.equal(formatDate('%Y%m%d %% %y', now), '20261202 % 26');
  const re = datedName('warehoused', '%d-%m-%Y-%H-%M-%S');
  assert.equal(re.exec('warehoused-a.b*c (x)-02-12-2026-07-05-09')?.[1], 'a.b*c (x)');
  assert.equal(re.exec('warehoused-a-02-12-2026'), null);
  assert.equal(re.exec('warehoused-multi\nline-02-12-2026-07-05-09')?.[1], 'multi\nline');
  assert.equal(promotedName('Next-web', 'Next-'), 'web');
  assert.equal(promotedName('Next-', 'Next-'), 'Next-', 'a name that is only the prefix stays');
  assert.equal(promotedName('web', 'Next-'), 'web');
  assert.equal(promotedName('Next-web', ''), 'Next-web');
});

test('a plan is data: the order keeps a current image served until the new one is named; public needs admin', () => {
  const older = { image: img('old', { name: 'web', visibility: 'public', AQ_OS: 'sl' }), members: [] };
  const steps = planPromote({ image: img('new', { name: 'Next-web' }), members: [] }, [older], 'P', { packuilon_commit: 'abc' }, options);
  assert.deepEqual(steps.map((s) => s.step.split(' ')[0]), ['give', 'warehouse', 'rename', 'deactivate']);
  assert.equal(steps[0]!.kind === 'patch' && steps[0]!.needsAdmin, 'making an image public');
  assert.deepEqual(steps[1]!.changes.find((c) => c.field === 'name')?.after, 'warehoused-web-02-12-2026-07-05-09');
  // an image of another project with the same name is not ours to warehouse
  const foreign = { image: img('x', { name: 'web', owner: 'Q' }), members: [] };
  assert.deepEqual(planPromote({ image: img('new', { name: 'Next-web' }), members: [] }, [foreign], 'P', {}, options).map((s) => s.step.split(' ')[0]), ['rename']);
  // hide instead of deactivate
  const hidden = planPromote({ image: img('new', { name: 'Next-web' }), members: [] }, [older], 'P', {}, { ...options, retire: 'hide' });
  assert.ok(hidden.some((s) => s.kind === 'patch' && s.ops.some((o) => o.path === '/os_hidden')));
});

test('reject empties members and never renames twice; retention keeps the newest by our stamp', () => {
  const steps = planReject({ image: img('n', { name: 'broken-web-01-01-2026-00-00-00', visibility: 'private', packuilon_rejected_at: 't' }), members: [] }, options);
  assert.deepEqual(steps, []);
  const w = (id: string, at: string, extra: Record<string, unknown> = {}) => img(id, { name: 'warehoused-web-01-01-2026-00-00-00', packuilon_warehoused_at: at, packuilon_superseded_by: 'n', ...extra });
  const { steps: pruned, skipped } = planPrune([w('a', '2026-01-03'), w('b', '2026-01-01'), w('c', '2026-01-02'), w('p', '2025-01-01', { protected: true }), img('seed', { name: 'warehoused-web-01-01-2020-00-00-00' })], 'P', { keep: 2, prune: 'delete', dateFormat: '%d-%m-%Y-%H-%M-%S' });
  assert.deepEqual(pruned.map((s) => s.image), ['b']);
  assert.deepEqual(skipped.map((s) => `${s.image}:${s.reason}`).sort(), ['p:protected', 'seed:not warehoused by packuilon (no stamps)']);
});
