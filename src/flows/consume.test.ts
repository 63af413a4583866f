import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Delivery } from '../queue/index.js';
import { profileOfDelivery } from './consume.js';

const seed = (body: unknown, extra: Partial<Delivery> = {}): Delivery => ({
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  messageId: 'sha256:x',
  headers: {},
  redelivered: false,
  ...extra,
});
const host = (network: Record<string, unknown>) => ({
  system: { network, personality: { name: 'web' }, os: { distribution: { name: 'sl' }, version: { name: '7x' }, architecture: 'x86_64' } },
});
const nameOf = (delivery: Delivery): string => {
  const prepared = profileOfDelivery(delivery, 1_000_000);
  assert.ok('profile' in prepared && prepared.profile, JSON.stringify(prepared));
  return (prepared.profile as { name: string }).name;
};

describe('profileOfDelivery: a message without Packuilon headers is named as Aquilon names the file', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['hostname + domainname: the FQDN', { hostname: 'nubesvms-centos7', domainname: 'cloud.template' }, 'nubesvms-centos7.cloud.template.json'],
    ['a multi-label domain', { hostname: 'web01', domainname: 'gridpp.rl.ac.uk' }, 'web01.gridpp.rl.ac.uk.json'],
    ['no domainname: the hostname, as before', { hostname: 'web01' }, 'web01.json'],
    ['an empty domainname', { hostname: 'web01', domainname: '' }, 'web01.json'],
    ['a domainname that is not text', { hostname: 'web01', domainname: 42 }, 'web01.json'],
    ['no hostname: the skeleton image name', { domainname: 'example.org' }, 'submit-web-sl7x-x86_64.json'],
    ['a hostname that is not text', { hostname: ['a'], domainname: 'example.org' }, 'submit-web-sl7x-x86_64.json'],
  ];
  for (const [what, network, expected] of cases) {
    it(what, () => assert.equal(nameOf(seed(host(network))), expected));
  }

  it('the header name wins over the body when Packuilon sent it', () => {
    assert.equal(nameOf(seed(host({ hostname: 'a', domainname: 'b.c' }), { profile: 'other.json' })), 'other.json');
  });

  it('a body that is not JSON is named after its digest', () => {
    assert.match(nameOf(seed('not json')), /^message-[0-9a-f]{12}\.json$/);
  });

  for (const domainname of ['../../etc', 'a/b/../../c', 'ex ample.org', 'x'.repeat(300)]) {
    it(`an unusable FQDN is refused, not used as a path: ${domainname.slice(0, 20)}`, () => {
      const prepared = profileOfDelivery(seed(host({ hostname: 'web01', domainname })), 1_000_000);
      assert.ok('reason' in prepared, JSON.stringify(prepared));
      assert.match(prepared.reason, /is not usable/);
    });
  }
});
