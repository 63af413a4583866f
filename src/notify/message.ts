import { redact } from '../shared/errors.js';

export type Outcome = 'promoted' | 'rejected' | 'build-failed';

export interface OutcomeFacts {
  key: string;
  outcome: Outcome;
  imageIds: string[];
  imageNames: string[];
  /** CI_PIPELINE_URL, when the job has one. */
  pipelineUrl?: string | undefined;
  commit?: string | undefined;
  /** Why an image was rejected (test.json's reasons). */
  reasons: string[];
}

export interface Notification {
  subject: string;
  text: string;
  /** Slack and Mattermost incoming webhooks both take `{ text }` (Markdown-ish). */
  webhook: { text: string; username: string };
  success: boolean;
}

const HEADLINE: Record<Outcome, string> = {
  promoted: 'built, tested and promoted',
  rejected: 'failed its test and was rejected',
  'build-failed': 'failed to build',
};

/** The message, the same facts for every channel; no secret can ride along (URLs lose their passwords). */
export function composeNotification(facts: OutcomeFacts): Notification {
  // One line per fact: a newline in an image name or a reason cannot forge a line (or a header) of its own.
  const clean = (text: string) => redact(text).replace(/[\u0000-\u001f\u007f]+/g, ' ');
  const ids = facts.imageIds.length ? facts.imageIds.join(', ') : 'none';
  const subject = clean(`[packuilon] ${facts.key}: ${HEADLINE[facts.outcome]}`);
  const lines = [
    `Image ${facts.key} ${HEADLINE[facts.outcome]}.`,
    ...(facts.imageNames.length ? [`Image name: ${facts.imageNames.join(', ')}`] : []),
    `Image ID: ${ids}`,
    `Pipeline: ${facts.pipelineUrl ?? 'not run in a pipeline'}`,
    ...(facts.commit ? [`Commit: ${facts.commit}`] : []),
    ...(facts.reasons.length ? ['Reasons:', ...facts.reasons.map((reason) => `- ${reason}`)] : []),
  ].map(clean);
  const link = facts.pipelineUrl ? `<${clean(facts.pipelineUrl)}|pipeline>` : 'no pipeline';
  const icon = facts.outcome === 'promoted' ? ':white_check_mark:' : ':x:';
  const webhook = [`${icon} *${clean(facts.key)}* ${HEADLINE[facts.outcome]} (image ID ${clean(ids)}, ${link})`, ...lines.slice(lines.indexOf('Reasons:') >= 0 ? lines.indexOf('Reasons:') : lines.length)];
  return { subject, text: `${lines.join('\n')}\n`, webhook: { text: webhook.join('\n'), username: 'packuilon' }, success: facts.outcome === 'promoted' };
}
