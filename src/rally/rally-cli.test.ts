import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { meaningfulTail, scrub } from './rally-cli.js';
import { ownRallyConf } from './run-task.js';

describe('rally command line helpers', () => {
  it('masks credentials as `rally env create` prints them, and in URLs', () => {
    assert.equal(scrub('|  "password": "imageadminpw",  |'), '|  "password": "***",  |');
    assert.equal(scrub('"OS_PASSWORD" : "a\\"b", "app_credential_secret": "s"'), '"OS_PASSWORD" : "***", "app_credential_secret": "***"');
    assert.equal(scrub('auth http://u:pw@keystone:5000/v3'), 'auth http://u:***@keystone:5000/v3');
    assert.equal(scrub('"username": "builder"'), '"username": "builder"');
  });

  it('keeps the lines of Rally\'s output that say something', () => {
    const output = 'Input task is invalid!\n\nReason(s):\n There is no Scenario plugin `X` in any platform.\n2026-12-02 16:45:52.894 23492 INFO rally.task.engine [-] Task done\u001b[00m\n';
    assert.equal(meaningfulTail(output, 2), 'Reason(s):\nThere is no Scenario plugin `X` in any platform.');
  });

  it('writes its own rally.conf: a literal dollar is $$, a line break is refused', () => {
    assert.equal(ownRallyConf('/tmp/a$b/rally.sqlite'), '[database]\nconnection = sqlite:////tmp/a$$b/rally.sqlite\n');
    assert.throws(() => ownRallyConf('/tmp/a\n[x]/rally.sqlite'), /holds a line break/);
  });
});
