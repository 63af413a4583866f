import type { ChainStage } from './child-pipeline.js';
import type { Plan } from './plan.js';

const BASIS = {
  flags: 'from the flags',
  push: 'push: CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA',
  'merge-request': 'merge request: CI_MERGE_REQUEST_DIFF_BASE_SHA..CI_COMMIT_SHA',
  'first-push': 'first push: everything',
  local: 'no CI variables: the last commit',
} as const;

/** The plan for a person reading the job log: one line per image and reason. */
export function formatPlanText(plan: Plan, basis: keyof typeof BASIS, stages: readonly ChainStage[]): string {
  const count = (action: string) => plan.images.filter((image) => image.action === action).length;
  const lines = [
    `plan ${plan.from ? plan.from.slice(0, 10) : '(first push)'}..${plan.to.slice(0, 10)} (${BASIS[basis]}): ` +
      `${count('build')} to build, ${count('stale')} stale, ${count('deleted')} deleted`,
  ];
  if (plan.images.length === 0) lines.push('no image changed in this range');
  for (const image of plan.images) {
    lines.push(`${image.action.padEnd(8)}${image.key}`);
    for (const reason of image.reasons) lines.push(`        ${reason}`);
  }
  if (count('stale')) lines.push('stale images are not built: their committed files predate the change; `packuilon rerender` (or the next detect) re-renders them');
  const missing = (['test', 'promote'] as const).filter((stage) => !stages.includes(stage));
  lines.push(
    missing.length
      ? `chain per image: ${stages.join(' → ')} only (${missing.map((s) => `ci ${s}`).join(' and ')} not in this tool version: no ${missing.join(' or ')} jobs)`
      : `chain per image: ${stages.join(' → ')} (reject instead of promote when the test fails the image)`,
  );
  return `${lines.join('\n')}\n`;
}
