import { createTransport } from 'nodemailer';
import { redact } from '../shared/errors.js';
import type { Notification } from './message.js';

export interface EmailSettings {
  smtpUrl: string;
  from: string;
  to: string[];
}

/** One mail over SMTP (nodemailer; `smtp://` or `smtps://`, credentials in the URL from the environment). */
export async function sendEmail(settings: EmailSettings, message: Notification, timeoutMs: number): Promise<void> {
  const transport = createTransport(settings.smtpUrl, {}) as ReturnType<typeof createTransport>;
  transport.set('connectionTimeout', timeoutMs);
  try {
    await transport.sendMail({ from: settings.from, to: settings.to, subject: message.subject, text: message.text });
  } catch (error) {
    throw new Error(`email via ${redact(settings.smtpUrl)}: ${redact((error as Error).message)}`);
  } finally {
    transport.close();
  }
}

/** A Slack/Mattermost-compatible incoming webhook: POST `{ text, username }` as JSON. */
export async function postWebhook(url: string, message: Notification, timeoutMs: number): Promise<void> {
  const where = webhookLabel(url);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message.webhook),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    throw new Error(`webhook ${where}: ${(error as Error).message}`);
  }
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`webhook ${where}: HTTP ${response.status}`);
}

/** A webhook URL is itself the secret (its path is the token): only its host is ever shown. */
export function webhookLabel(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(not a URL)';
  }
}
