import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkBranch, checkInsideRepo, checkQueueUrl } from './checks.js';
import { ConfigError } from '../shared/errors.js';

const refused = (fn: () => void, pattern: RegExp) => assert.throws(fn, (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && error.message.startsWith('K:'));

describe('config checks', () => {
  it('queue.url: usable AMQP URLs pass', () => {
    for (const url of ['amqp://guest@127.0.0.1:5672/', 'amqps://rabbit.example.org', 'amqp://u@[::1]:5672/%2f', 'amqp://packuilon@rabbit/vhost']) checkQueueUrl(url, 'K: queue.url', false);
    checkQueueUrl('amqp://u:p@ss@rabbit/', 'K', true); // from the environment, a password is fine
  });
  it('queue.url: the rest is refused, naming the key, never echoing a password', () => {
    const cases: [string, RegExp][] = [
      ['', /not a URL/], ['rabbit:5672', /expected amqp/], ['amqp//rabbit', /not a URL/], ['http://rabbit/', /expected amqp/],
      ['amqp://rabbit:70000/', /not a URL/], ['amqp://%E0%A4%A@rabbit/', /bad %-escape/], ['amqp://rabbit/%zz', /vhost has a bad %-escape/],
      ['amqp://rabbit/#x', /no \?query or #fragment/], ['amqp://u:pw@rabbit/', /a password must not be written/], ['amqp://u:p@w:d@rabbit/', /a password must not be written/],
    ];
    for (const [url, pattern] of cases) {
      refused(() => checkQueueUrl(url, 'K: queue.url', false), pattern);
      try {
        checkQueueUrl(url, 'K: queue.url', false);
      } catch (error) {
        assert.doesNotMatch((error as Error).message, /pw|p@w/);
      }
    }
  });
  it('repo.branch: names git accepts pass, the others are refused', () => {
    for (const branch of ['main', 'release/2026-12', 'feature_x.y', 'a-b']) checkBranch(branch, 'K');
    for (const branch of ['', '-x', '/x', 'x/', 'x.', '.x', 'a..b', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[b', 'a\\b', 'a@{1}', 'a//b', 'x.lock', 'a/.b', 'HEAD', '@', 'tab\tx']) {
      refused(() => checkBranch(branch, 'K: repo.branch'), /is not a valid git branch name/);
    }
  });
  it('repo files: inside the repo pass, outside are refused', () => {
    for (const path of ['templates/template-map.json', 'a.json', 'x/../y.json']) checkInsideRepo('/srv/repo', path, 'K');
    for (const path of ['../x.json', '/etc/packer-utils/template-map.json', 'a/../../x', '..', '.', '/srv/repo/templates/x.json']) {
      refused(() => checkInsideRepo('/srv/repo', path, 'K: templates.map'), /is outside the image repo/);
    }
  });
});
