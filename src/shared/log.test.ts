import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCliLogger, loadPrettifier, logFormatOf, redactJsonLine } from './log.js';
import { UsageError } from './errors.js';

const capture = async (env: NodeJS.ProcessEnv, isTTY = false) => {
  let text = '';
  const sink = { write: (line: string) => (text += line), isTTY };
  const full = { LOG_LEVEL: 'info', ...env };
  const log = createCliLogger(full, sink, await loadPrettifier(full, sink));
  return { log, text: () => text };
};

describe('logs', () => {
  it('LOG_FORMAT decides; unset, a terminal gets pretty and anything else JSON', () => {
    assert.equal(logFormatOf({}, false), 'json');
    assert.equal(logFormatOf({}, true), 'pretty');
    assert.equal(logFormatOf({ LOG_FORMAT: 'json' }, true), 'json');
    assert.equal(logFormatOf({ LOG_FORMAT: ' Pretty ' }, false), 'pretty');
    assert.equal(logFormatOf({ LOG_FORMAT: '' }, true), 'pretty');
    for (const bad of ['yaml', 'prettyy', 'json,pretty']) assert.throws(() => logFormatOf({ LOG_FORMAT: bad }, false), UsageError);
  });

  it('no URL password reaches a line: in the message, in fields, nested, in either format', async () => {
    for (const format of ['json', 'pretty']) {
      const { log, text } = await capture({ LOG_FORMAT: format });
      log.warn({ err: 'GET http://u:p@ss@aq/x: 500', nested: { url: 'amqp://g:s3:cr@t@h/' }, password: 'plain' }, 'failed at https://t:tok@en@gl/');
      log.child({ broker: 'amqp://a:b@c@h:1/' }).info({}, 'x');
      const out = text();
      for (const secret of ['p@ss', 's3:cr@t', 'tok@en', 'b@c', 'plain']) assert.ok(!out.includes(secret), `${format}: ${secret} in ${out}`);
      assert.match(out, /http:\/\/u:\*\*\*@aq\/x/);
    }
  });

  it('pretty lines are one per event with the level and the message; colours only on a terminal', async () => {
    const plain = await capture({ LOG_FORMAT: 'pretty' });
    plain.log.info({ profile: 'a.json' }, 'index read');
    assert.match(plain.text(), /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: index read\n {4}profile: "a\.json"\n$/);
    const tty = await capture({}, true);
    tty.log.info({}, 'hello');
    assert.match(tty.text(), /\x1b\[\d+mINFO/);
  });

  it('on the serialized line, masking keeps the JSON whole', () => {
    const fields = { url: 'http://u:pw@host', email: 'ops@example.org', quoted: 'amqp://u:p"w@h/', many: ['http://a:b@c', 'x@y'] };
    const line = redactJsonLine(JSON.stringify(fields));
    const parsed = JSON.parse(line) as typeof fields;
    assert.deepEqual(parsed, { url: 'http://u:***@host', email: 'ops@example.org', quoted: 'amqp://u:***@h/', many: ['http://a:***@c', 'x@y'] });
  });
});
