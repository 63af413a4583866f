import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { profileOfDelivery } from './consume.js';
import { profileDigest } from '../shared/digest.js';
import { profileText } from '../../test/support/site.js';

const delivery = (body: Buffer, profile?: string) => ({ body, messageId: 'm1', headers: {}, redelivered: false, ...(profile ? { profile } : {}) });

describe('consume: a message body is read as detect reads a profile', () => {
  it('a body that is not UTF-8 is dead-lettered naming the field, with or without a profile header', () => {
    const text = profileText({ hostname: 'h1', archetype: 'ral-XX' });
    const body = Buffer.from(text);
    body[body.indexOf('ral-XX') + 4] = 0xfe;
    for (const name of ['h1.json', undefined]) {
      const prepared = profileOfDelivery(delivery(body, name), 1 << 20);
      assert.ok('reason' in prepared);
      assert.match(prepared.reason, /system\.archetype\.name: invalid UTF-8 \(byte 0xfe at offset \d+\)/);
    }
  });

  it('the digest is of the content: two formattings of one profile have one digest', () => {
    const a = profileOfDelivery(delivery(Buffer.from(profileText({ hostname: 'h1' })), 'h1.json'), 1 << 20);
    const compact = JSON.stringify(JSON.parse(profileText({ hostname: 'h1' })));
    const b = profileOfDelivery(delivery(Buffer.from(compact), 'h1.json'), 1 << 20);
    if ('reason' in a || 'reason' in b) throw new Error('rejected');
    assert.equal(a.profile.digest, b.profile.digest);
    assert.equal(a.profile.digest, profileDigest(Buffer.from(compact)));
  });
});
