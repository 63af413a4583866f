import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { connect } from 'amqplib';
import { startRabbit } from './rabbit.js';

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => resolve(!!socket.end()));
    socket.once('error', () => resolve(false));
  });

test('a private broker starts, survives stop_app/start_app and cleans up after itself', async () => {
  const rabbit = await startRabbit();
  try {
    assert.match(rabbit.url, /^amqp:\/\/guest:guest@127\.0\.0\.1:\d+\/$/);
    assert.match(rabbit.nodeName, /^packuilon_test_\d+@localhost$/);
    const connection = await connect(rabbit.url);
    await connection.close();
    assert.match(await rabbit.ctl(['list_vhosts']), /^\/$/m);

    await rabbit.stopApp();
    assert.equal(await accepts(rabbit.port), false, 'AMQP port closed while the app is stopped');
    await rabbit.startApp();
    await (await connect(rabbit.url)).close();
  } finally {
    await rabbit.stop();
  }
  assert.equal(await accepts(rabbit.port), false, 'AMQP port closed after stop');
  await assert.rejects(access(rabbit.dir), /ENOENT/, 'temp dir removed');
});
