import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedOpenstack, openrc, type OpenstackInfo } from './openstack.js';

async function token(info: OpenstackInfo, user: keyof OpenstackInfo['users']): Promise<{ token: string; catalog: { type: string }[] }> {
  const env = openrc(info, user);
  const response = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: env.OS_USERNAME, domain: { name: 'Default' }, password: env.OS_PASSWORD } } },
      scope: { project: { name: env.OS_PROJECT_NAME, domain: { name: 'Default' } } },
    } }),
  });
  assert.equal(response.status, 201, `${user} gets a token`);
  const body = (await response.json()) as { token: { catalog: { type: string }[] } };
  return { token: response.headers.get('x-subject-token')!, catalog: body.token.catalog };
}

test('the shared Keystone + Glance: seeded users get tokens, Glance takes them and applies its policy', async () => {
  const { info, release } = await sharedOpenstack();
  try {
    assert.match(info.authUrl, /^http:\/\/127\.0\.0\.1:\d+\/v3$/);
    const builder = await token(info, 'builder');
    assert.ok(builder.catalog.some((entry) => entry.type === 'image'), 'the catalog lists Glance');
    const list = await fetch(`${info.glanceUrl}/v2/images`, { headers: { 'x-auth-token': builder.token } });
    assert.equal(list.status, 200);
    const anonymous = await fetch(`${info.glanceUrl}/v2/images`);
    assert.equal(anonymous.status, 401, 'no token, no images');
    // a real policy: only an admin may make an image public
    const create = (tok: string) => fetch(`${info.glanceUrl}/v2/images`, {
      method: 'POST',
      headers: { 'x-auth-token': tok, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `support-public-${process.pid}`, visibility: 'public', disk_format: 'raw', container_format: 'bare' }),
    });
    assert.equal((await create(builder.token)).status, 403, 'builder (member) cannot make a public image');
    const admin = await token(info, 'image-admin');
    const made = await create(admin.token);
    assert.equal(made.status, 201, 'image-admin (admin) can');
    const image = (await made.json()) as { id: string; owner: string };
    assert.equal(image.owner, info.projects.packuilon);
    assert.equal((await fetch(`${info.glanceUrl}/v2/images/${image.id}`, { method: 'DELETE', headers: { 'x-auth-token': admin.token } })).status, 204);
  } finally {
    await release();
  }
});
