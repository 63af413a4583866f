import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createProgress } from './progress.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('progress reporter', () => {
  it('logs a progress event every few seconds with counts, rate and ETA; none for a short pass', async () => {
    const { log, lines } = capture();
    let clock = 0;
    const progress = createProgress({ log, now: () => clock, logEveryMs: 5000 });
    for (let done = 1; done <= 4000; done++) {
      clock = done; // 1 ms per profile: 4 s, shorter than the interval
      progress.update('fetched', done, 20_000);
    }
    await flush();
    assert.equal(lines.length, 0, 'a pass shorter than the interval logs no progress');
    for (let done = 4001; done <= 20_000; done++) {
      clock = done;
      progress.update('fetched', done, 20_000);
    }
    clock = 21_000;
    progress.update('committed', 100, 3_800);
    await flush();
    const events = lines.filter((line) => line.msg === 'progress');
    assert.deepEqual(events.map((event) => event.done), [5000, 10_000, 15_000, 20_000]);
    assert.deepEqual(events.map((event) => event.step), ['fetched', 'fetched', 'fetched', 'fetched']);
    assert.equal(events[0]!.ratePerSecond, 1000);
    assert.equal(events[0]!.etaSeconds, 15);
    progress.end();
  });

  it('draws one line on a terminal, redrawn in place, and clears it at the end', () => {
    const { log } = capture();
    let clock = 0;
    let screen = '';
    const progress = createProgress({ log, now: () => clock, tty: { write: (text: string) => (screen += text) }, drawEveryMs: 250 });
    clock = 1000;
    progress.update('fetched', 2000, 20_000);
    clock = 1100;
    progress.update('fetched', 2100, 20_000); // within the redraw interval: not drawn
    clock = 2000;
    progress.update('fetched', 4000, 20_000);
    const frames = screen.split('\r\u001b[K').filter(Boolean);
    assert.equal(frames.length, 2);
    assert.equal(frames[1], 'fetched 4,000/20,000 · 4,000/s · ETA 4 s\r');
    clock = 3000;
    progress.update('committed', 3800, 3800); // the last count is always drawn
    assert.match(screen, /fetched 4,000\/20,000 · committed 3,800\/3,800\r$/);
    progress.end();
    assert.ok(screen.endsWith('\r\u001b[K'));
  });
});
