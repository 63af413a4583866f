import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { runCli } from '../../test/support/cli.js';
import { startSmtpServer, startWebhookReceiver, type SmtpServer, type WebhookReceiver } from '../../test/support/smtp-server.js';

// nodemailer against a real SMTP conversation on loopback, fetch against a
// loopback webhook receiver; both are fakes of outside services.

const KEY = 'web-sl7x-x86_64';
const PIPELINE = 'https://gitlab.example.org/cloud/images/-/pipelines/42';

function repo(notify: Record<string, unknown>, test?: { reasons: string[] }): string {
  const dir = mkdtempSync(join(tmpdir(), 'packuilon-notify-'));
  writeFileSync(join(dir, 'packuilon.yaml'), stringify({ notify: { timeout: 5, ...notify } }));
  mkdirSync(join(dir, 'out', KEY), { recursive: true });
  const build = { file: 'managed.json', image_name: 'Next-web-sl7x-x86_64 AQ\nBcc: victim@example.org', image_id: 'img-123', artifact: null, exit_code: 0, log: 'x' };
  writeFileSync(join(dir, 'out', KEY, 'build.json'), JSON.stringify({ key: KEY, commit: 'abc123', builds: [build] }));
  if (test) writeFileSync(join(dir, 'out', KEY, 'test.json'), JSON.stringify({ key: KEY, verdict: 'fail', reasons: test.reasons, task_uuid: null, image_ids: ['img-123'] }));
  return dir;
}

const email = { from: 'packuilon@example.org', success_to: ['cloud-support@example.org'], failure_to: ['cloud-oncall@example.org', 'cloud-support@example.org'] };

describe('ci notify', () => {
  let smtp: SmtpServer;
  let hook: WebhookReceiver;
  before(async () => {
    smtp = await startSmtpServer();
    hook = await startWebhookReceiver();
  });
  after(async () => {
    await smtp.close();
    await hook.close();
  });

  it('mails the success addresses and posts the webhook on promotion, with image, pipeline and image ID, no secret', async () => {
    const dir = repo({ email });
    const env = { PACKUILON_SMTP_URL: `smtp://mailer:sm7p-pa55@127.0.0.1:${smtp.port}`, PACKUILON_WEBHOOK_URL: hook.url, CI_PIPELINE_URL: PIPELINE };
    const result = await runCli(['ci', 'notify', KEY, '--outcome', 'promoted'], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^notified: (email, webhook|webhook, email)\n$/);
    const mail = smtp.mails.at(-1)!;
    assert.equal(mail.from, 'packuilon@example.org');
    assert.deepEqual(mail.to, ['cloud-support@example.org']);
    assert.equal(mail.auth, 'mailer:sm7p-pa55', 'nodemailer logged in with the URL\'s credentials');
    assert.match(mail.data, /^Subject: \[packuilon\] web-sl7x-x86_64: built, tested and promoted\r$/m);
    assert.match(mail.data, /Image ID: img-123/);
    assert.match(mail.data, new RegExp(`Pipeline: ${PIPELINE}`));
    const [headers, mailBody] = mail.data.split('\r\n\r\n');
    assert.ok(!/^Bcc:/im.test(headers!) && !/^Bcc:/im.test(mailBody!), 'a newline in an image name cannot add a header or a line');
    assert.match(mailBody!, /Image name: Next-web-sl7x-x86_64 AQ Bcc: victim@example\.org/);
    assert.ok(!mail.data.includes('sm7p-pa55') && !mail.data.includes('T0KEN-SECRET-PATH'));
    const post = hook.requests.at(-1)!;
    assert.equal(post.headers['content-type'], 'application/json');
    const body = JSON.parse(post.body);
    assert.match(body.text, /^:white_check_mark: \*web-sl7x-x86_64\* built, tested and promoted \(image ID img-123, <https:\/\/gitlab\.example\.org\/cloud\/images\/-\/pipelines\/42\|pipeline>\)/);
    assert.ok(!post.body.includes('sm7p-pa55'));
  });

  it('mails the failure addresses on rejection with the test\'s reasons, secrets in them masked', async () => {
    const dir = repo({ email }, { reasons: ['boot-and-delete: success rate 50% < 90%', 'keystone at https://admin:hunter2@keystone.example.org said no'] });
    const env = { PACKUILON_SMTP_URL: `smtp://127.0.0.1:${smtp.port}` };
    const result = await runCli(['ci', 'notify', KEY, '--outcome', 'rejected'], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'notified: email\n');
    const mail = smtp.mails.at(-1)!;
    assert.deepEqual(mail.to, ['cloud-oncall@example.org', 'cloud-support@example.org']);
    assert.match(mail.data, /failed its test and was rejected/);
    assert.match(mail.data, /- boot-and-delete: success rate 50% < 90%/);
    assert.match(mail.data, /https:\/\/admin:\*\*\*@keystone/);
    assert.ok(!mail.data.includes('hunter2'));
    assert.match(mail.data, /Pipeline: not run in a pipeline/);
  });

  it('warns and exits 0 when the SMTP server is down and the webhook answers 500; no secret in the warnings', async () => {
    const failing = await startWebhookReceiver(500);
    const closed = await startSmtpServer();
    await closed.close();
    try {
      const dir = repo({ email, webhook_url_env: 'CHAT_HOOK' });
      const env = { PACKUILON_SMTP_URL: `smtp://mailer:sm7p-pa55@127.0.0.1:${closed.port}`, CHAT_HOOK: failing.url };
      const result = await runCli(['ci', 'notify', KEY, '--outcome', 'build-failed'], { cwd: dir, env });
      assert.equal(result.code, 0);
      assert.equal(result.stdout, 'no notification went out\n');
      assert.match(result.stderr, /warning: webhook 127\.0\.0\.1:\d+: HTTP 500/);
      assert.match(result.stderr, /warning: email via smtp:\/\/mailer:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      assert.ok(!result.stderr.includes('sm7p-pa55') && !result.stderr.includes('T0KEN-SECRET-PATH'), result.stderr);
      assert.equal(failing.requests.length, 1);
    } finally {
      await failing.close();
    }
  });

  it('does nothing without channels, warns when the SMTP variable is unset, refuses a bad outcome', async () => {
    let result = await runCli(['ci', 'notify', KEY, '--outcome', 'promoted'], { cwd: repo({}) });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /no notification channel configured/);
    result = await runCli(['ci', 'notify', KEY, '--outcome', 'promoted'], { cwd: repo({ email }) });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /warning: notify\.email: PACKUILON_SMTP_URL is not set: no email/);
    result = await runCli(['ci', 'notify', KEY, '--outcome', 'exploded'], { cwd: repo({}) });
    assert.equal(result.code, 2);
    result = await runCli(['ci', 'notify', KEY], { cwd: repo({}) });
    assert.equal(result.code, 2);
  });
});
