import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, InputError, messageOf, oneLine, quote } from './errors.js';

describe('messages: one line, values cut', () => {
  it('quote keeps short values whole and cuts long ones to ~80 characters', () => {
    assert.equal(quote('abc'), '"abc"');
    assert.equal(quote('a\nb'), '"a\\nb"');
    const cut = quote('x'.repeat(1_000_000));
    assert.ok(cut.length <= 84 && cut.endsWith('…"'), cut);
    assert.ok(quote('\u0000'.repeat(100)).length <= 84);
  });

  it('every PackuilonError is one bounded line, whatever it was built from', () => {
    const sources = [
      `a\nb\r\nc\u2028d`,
      `value "${'v'.repeat(1_000_000)}" is bad`,
      'x'.repeat(2_000_000),
      `tab\there \u001b[31m escape`,
      `Unexpected token '}', ..."\n    "x": }\n}\n" is not valid JSON`,
    ];
    for (const source of sources) {
      for (const error of [new ConfigError(source), new InputError('p.json', 'f', source)]) {
        assert.ok(!/[\n\r\u2028\u2029\u0000-\u001f]/.test(error.message), JSON.stringify(error.message.slice(0, 100)));
        assert.ok(error.message.length <= 1001, String(error.message.length));
      }
    }
    assert.equal(new ConfigError(`Unexpected token '}', ..."\n    "x": }\n}\n" is not valid JSON`).message, "Unexpected token '}'");
    assert.equal(oneLine('first\nsecond'), 'first | second');
  });

  it('an InputError\'s problem is one line too, and internal errors are flattened', () => {
    const error = new InputError('p.json', 'system.x', `bad\n${'y'.repeat(5000)}`);
    assert.ok(!error.problem.includes('\n') && error.problem.length <= 1001);
    assert.equal(messageOf(new Error('a\nb')), 'internal error: a | b');
  });
});
