import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iniValue, parseIni } from './ini.js';

test('reads KEY = value, KEY=value and KEY: value; option names are case-insensitive', () => {
  const ini = parseIni('[global]\nQUEUE = build-queue\nrabbit_host=rabbit.example.org\nRABBIT_PORT: 5672\n');
  assert.equal(iniValue(ini, 'global', 'QUEUE'), 'build-queue');
  assert.equal(iniValue(ini, 'global', 'RABBIT_HOST'), 'rabbit.example.org');
  assert.equal(iniValue(ini, 'global', 'RABBIT_PORT'), '5672');
  assert.deepEqual(ini.problems, []);
});

test('skips comments, keeps = inside values, joins continuation lines, last value wins', () => {
  const ini = parseIni('# seed\n; also\n[cdb2rabbit]\nPROFILE_INFO_URL = http://h/p?a=b\nPROFILE_MATCH =\nX = one\n  two\nX = three\n');
  assert.equal(iniValue(ini, 'cdb2rabbit', 'PROFILE_INFO_URL'), 'http://h/p?a=b');
  assert.equal(iniValue(ini, 'cdb2rabbit', 'PROFILE_MATCH'), '');
  assert.equal(ini.entries.find((entry) => entry.key === 'X')?.value, 'one\ntwo');
  assert.equal(iniValue(ini, 'cdb2rabbit', 'X'), 'three');
});

test('reports lines it cannot read without repeating them (they may hold a password)', () => {
  const ini = parseIni('KEY = before-section\n[global]\nRABBIT_PW hunter2\n');
  assert.deepEqual(ini.problems.map((problem) => problem.line), [1, 3]);
  assert.ok(!JSON.stringify(ini.problems).includes('hunter2'));
});
