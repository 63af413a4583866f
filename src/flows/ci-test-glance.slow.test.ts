import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../test/support/cli.js';
import { RALLY_TASKS, rallyRepo } from '../../test/support/rally-repo.js';

// A real GlanceImages task against the real Keystone + Glance that
// test/support/openstack.ts (the promote stage's set-up) starts for the run:
// scripts/test.sh passes it in PACKUILON_TEST_OPENSTACK. The env is made from
// the OS_* variables of image-admin, the way a CI job gives them: Rally's
// env health check wants admin credentials (a member's are "Bad admin creds").
const shared = process.env.PACKUILON_TEST_OPENSTACK;
interface Info {
  authUrl: string;
  glanceUrl: string;
  region: string;
  users: Record<string, { name: string; password: string; project: string }>;
}

describe('ci test against real Keystone + Glance', { skip: shared ? false : 'PACKUILON_TEST_OPENSTACK is not set (run under test/support/openstack.ts)' }, () => {
  it('runs GlanceImages.list_images as the job\'s identity on an image the test made; the credentials do not outlive the run', async () => {
    const info = JSON.parse(shared!) as Info;
    const user = info.users['image-admin']!;
    const osEnv = {
      OS_AUTH_URL: info.authUrl,
      OS_IDENTITY_API_VERSION: '3',
      OS_USERNAME: user.name,
      OS_PASSWORD: user.password,
      OS_PROJECT_NAME: user.project,
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: info.region,
      OS_INTERFACE: 'public',
    };
    const token = await fetch(`${info.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: user.name, domain: { id: 'default' }, password: user.password } } }, scope: { project: { name: user.project, domain: { id: 'default' } } } } }),
    });
    assert.equal(token.status, 201);
    const headers = { 'x-auth-token': token.headers.get('x-subject-token')!, 'content-type': 'application/json' };
    const created = await fetch(`${info.glanceUrl}/v2/images`, { method: 'POST', headers, body: JSON.stringify({ name: `Next-rally-${Date.now()}`, disk_format: 'raw', container_format: 'bare' }) });
    assert.equal(created.status, 201);
    const image = (await created.json()) as { id: string; name: string };

    const key = 'glance-sl7x-x86_64';
    const repo = rallyRepo(key, { imageId: image.id, imageName: image.name, rally: { task: `${RALLY_TASKS}glance-list.yaml` } });
    const result = await runCli(['ci', 'test', key], { cwd: repo, env: osEnv });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const record = JSON.parse(readFileSync(join(repo, 'out', key, 'test.json'), 'utf8'));
    assert.deepEqual([record.verdict, record.image_ids], ['pass', [image.id]]);
    const report = JSON.parse(readFileSync(join(repo, 'out', key, 'rally/report.json'), 'utf8'));
    assert.equal(report.tasks[0].subtasks[0].workloads[0].total_iteration_count, 2);
    assert.ok(!existsSync(join(repo, 'out', key, 'rally/rally.sqlite')), 'the database with the credentials is gone');
    for (const file of ['rally/rally.log', 'rally/report.json', 'rally/task-args.json', 'test.json', 'rally-junit.xml']) {
      assert.ok(!readFileSync(join(repo, 'out', key, file), 'utf8').includes(user.password), `no password in ${file}`);
    }
  });
});
