import type { Logger } from '../shared/log.js';
import { composeNotification, type OutcomeFacts } from './message.js';
import { postWebhook, sendEmail } from './send.js';

export interface NotifyOptions {
  facts: OutcomeFacts;
  /** Present when notify.email is configured and its SMTP URL variable is set. */
  email?: { smtpUrl: string; from: string; successTo: string[]; failureTo: string[] } | undefined;
  webhookUrl?: string | undefined;
  timeoutMs: number;
  log: Logger;
}

export interface NotifyResult {
  sent: ('email' | 'webhook')[];
  warnings: string[];
}

/** Every configured channel, each on its own: a failed one is a warning, never a failed job. */
export async function notifyOutcome(options: NotifyOptions): Promise<NotifyResult> {
  const message = composeNotification(options.facts);
  const log = options.log.child({ imageKey: options.facts.key, outcome: options.facts.outcome });
  const result: NotifyResult = { sent: [], warnings: [] };
  const jobs: Promise<void>[] = [];
  const email = options.email;
  if (email) {
    const to = message.success ? email.successTo : email.failureTo;
    if (to.length) {
      jobs.push(
        sendEmail({ smtpUrl: email.smtpUrl, from: email.from, to }, message, options.timeoutMs).then(
          () => void result.sent.push('email'),
          (error: Error) => void result.warnings.push(error.message),
        ),
      );
    } else {
      log.info({ channel: 'email' }, `no ${message.success ? 'success_to' : 'failure_to'} recipients: no email`);
    }
  }
  if (options.webhookUrl) {
    jobs.push(
      postWebhook(options.webhookUrl, message, options.timeoutMs).then(
        () => void result.sent.push('webhook'),
        (error: Error) => void result.warnings.push(error.message),
      ),
    );
  }
  await Promise.all(jobs);
  for (const warning of result.warnings) log.warn({ err: warning }, 'notification failed');
  if (result.sent.length) log.info({ channels: result.sent }, 'notified');
  return result;
}
