import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redact } from './errors.js';

describe('redact: no part of a URL password survives', () => {
  const passwords = ['secret', 'p@ss', 'p@ss@word', 'a:b', 'a:b@c:d', 'x%40y', '!$&\'()*+,;=', 'p#ss@x', 'p?ss', '~`^"<>{}|', 'ünïcødé', '@', ':', '@@', '', 'pa_ss'];
  const shapes: [string, (password: string) => string, string][] = [
    ['http with a path', (pw) => `http://u:${pw}@host/path`, 'http://u:***@host/path'],
    ['amqp with a port and vhost', (pw) => `amqp://guest:${pw}@127.0.0.1:5672/%2f`, 'amqp://guest:***@127.0.0.1:5672/%2f'],
    ['no path at all', (pw) => `https://oauth2:${pw}@gitlab.example.org`, 'https://oauth2:***@gitlab.example.org'],
    ['an empty user', (pw) => `amqps://:${pw}@rabbit`, 'amqps://:***@rabbit'],
    ['a user with an unescaped @', (pw) => `http://me@site:${pw}@host/`, 'http://me@site:***@host/'],
    ['inside a sentence', (pw) => `fetch http://u:${pw}@aq.example.org/profiles/x.json failed: 404`, 'fetch http://u:***@aq.example.org/profiles/x.json failed: 404'],
    ['quoted, as in an error', (pw) => `cannot reach "amqp://u:${pw}@h:1/"`, 'cannot reach "amqp://u:***@h:1/"'],
    ['upper-case scheme', (pw) => `HTTP://U:${pw}@H/`, 'HTTP://U:***@H/'],
    ['git+ssh', (pw) => `git+ssh://git:${pw}@forge/repo.git`, 'git+ssh://git:***@forge/repo.git'],
  ];
  for (const [shape, url, expected] of shapes) {
    it(shape, () => {
      for (const password of passwords) {
        const out = redact(url(password));
        assert.equal(out, expected, `password ${JSON.stringify(password)}`);
      }
    });
  }

  it('masks every URL of a line, each one whole', () => {
    const line = 'tried amqp://a:p@1@h1:5672/ then amqp://b:q:2@h2/ and http://c:r@3@h3';
    const out = redact(line);
    assert.equal(out, 'tried amqp://a:***@h1:5672/ then amqp://b:***@h2/ and http://c:***@h3');
    for (const secret of ['p@1', 'q:2', 'r@3']) assert.ok(!out.includes(secret), secret);
  });

  it('leaves URLs without a password, ports and e-mail addresses alone', () => {
    for (const text of ['amqp://guest@127.0.0.1:5672/', 'http://host:8080/path', 'mail ops@example.org', 'http://host/a:b@c', 'no url here: a:b@c']) {
      assert.equal(redact(text), text);
    }
  });

  it('masks a password whose @ sits in a query too, rather than leak it', () => {
    assert.equal(redact('http://u:p@ss@host?next=me@there'), 'http://u:***@there');
  });
});
