import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool, ToolRunError } from './exec.js';
import { ToolError } from './errors.js';
import { isAlive, waitFor } from '../../test/support/processes.js';


async function failure(promise: Promise<unknown>): Promise<ToolRunError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ToolRunError, String(error));
    assert.ok(error instanceof ToolError);
    return error;
  }
  assert.fail('expected a ToolRunError');
}

describe('runTool (real processes)', () => {
  it('returns the exit code and both outputs, and streams every line in order', async () => {
    const lines: string[] = [];
    const result = await runTool('sh', ['-c', 'echo one; echo two >&2; printf three; exit 3'], { onLine: (stream, line) => lines.push(`${stream}:${line}`) });
    assert.equal(result.exitCode, 3);
    assert.equal(result.stdout, 'one\nthree');
    assert.equal(result.stderr, 'two\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('stdout')), ['stdout:one', 'stdout:three']);
    assert.deepEqual(lines.filter((l) => l.startsWith('stderr')), ['stderr:two']);
  });

  it('passes arguments as they are, never through a shell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exec-'));
    try {
      const hostile = `$(touch ${dir}/pwned); \`touch ${dir}/pwned\` "'\n../..`;
      const result = await runTool('printf', ['%s', hostile], { cwd: dir });
      assert.equal(result.stdout, hostile);
      assert.throws(() => readFileSync(join(dir, 'pwned')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes input to stdin and adds env to the environment', async () => {
    const result = await runTool('sh', ['-c', 'cat; echo "$EXEC_TEST_VALUE"'], { input: 'from stdin\n', env: { EXEC_TEST_VALUE: 'v 1' } });
    assert.equal(result.stdout, 'from stdin\nv 1\n');
  });

  it('a missing binary says it is not installed and how to install it', async () => {
    const error = await failure(runTool('packer', ['version'], { env: { PATH: '/nonexistent' } }));
    assert.equal(error.kind, 'not-installed');
    assert.match(error.message, /^packer: not installed \(not found on PATH\); install it: apt-get install packer/);
    const other = await failure(runTool('no-such-tool-xyz', []));
    assert.match(other.message, /no-such-tool-xyz: not installed/);
  });

  it('a missing working directory is named, not mistaken for a missing tool', async () => {
    const error = await failure(runTool('sh', ['-c', 'true'], { cwd: '/nonexistent/dir' }));
    assert.equal(error.kind, 'cannot-run');
    assert.match(error.message, /no such directory \/nonexistent\/dir/);
  });

  it('okExitCodes turns another exit into a ToolError with the last stderr lines', async () => {
    const error = await failure(runTool('sh', ['-c', 'echo a >&2; echo b >&2; exit 4'], { okExitCodes: [0] }));
    assert.equal(error.kind, 'exit');
    assert.equal(error.exitCode, 4);
    assert.match(error.message, /sh failed \(exit 4\): a \| b/);
  });

  it('a timeout is a timeout, not a cancel', async () => {
    const started = Date.now();
    const error = await failure(runTool('sleep', ['30'], { timeoutMs: 200 }));
    assert.equal(error.kind, 'timeout');
    assert.equal(error.timedOut, true);
    assert.equal(error.cancelled, false);
    assert.equal(error.signal, 'SIGTERM');
    assert.ok(Date.now() - started < 5000);
  });

  it('an abort is a cancel, not a timeout', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const error = await failure(runTool('sleep', ['30'], { signal: controller.signal, timeoutMs: 60_000 }));
    assert.equal(error.kind, 'cancelled');
    assert.equal(error.cancelled, true);
    assert.equal(error.timedOut, false);
    const already = await failure(runTool('sleep', ['30'], { signal: controller.signal }));
    assert.equal(already.kind, 'cancelled');
  });

  it('SIGTERM first, SIGKILL after the grace period for a tool that ignores it', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const started = Date.now();
    const run = runTool('sh', ['-c', 'trap "echo got TERM" TERM; echo ready; while true; do sleep 0.1; done'], {
      signal: controller.signal,
      killGraceMs: 500,
      onLine: (_stream, line) => {
        lines.push(line);
        if (line === 'ready') controller.abort();
      },
    });
    const error = await failure(run);
    assert.equal(error.kind, 'cancelled');
    assert.equal(error.signal, 'SIGKILL');
    assert.ok(lines.includes('got TERM'), lines.join(','));
    assert.ok(Date.now() - started < 5000);
  });

  it('leaves no process of the tool behind (its process group is killed)', async () => {
    const controller = new AbortController();
    let child = 0;
    const run = runTool('sh', ['-c', 'sleep 30 & echo $!; wait'], {
      signal: controller.signal,
      onLine: (_stream, line) => {
        child = Number(line);
        controller.abort();
      },
    });
    const started = Date.now();
    await failure(run);
    assert.ok(Date.now() - started < 3000, 'the group is killed once the tool has exited, not after the grace period');
    assert.ok(child > 0);
    assert.equal(await waitFor(() => !isAlive(child), 2000), true, `sleep ${child} outlived the cancelled tool`);
  });

  it('a tool killed by a signal says so', async () => {
    const error = await failure(runTool('sh', ['-c', 'kill -KILL $$']));
    assert.equal(error.kind, 'signal');
    assert.equal(error.signal, 'SIGKILL');
  });

  it('keeps only the tail of a large output and streams every line', async () => {
    let count = 0;
    let last = '';
    const result = await runTool('sh', ['-c', 'seq 1 200000'], {
      maxCaptureBytes: 1000,
      onLine: (_stream, line) => {
        count++;
        last = line;
      },
    });
    assert.equal(count, 200000);
    assert.equal(last, '200000');
    assert.equal(result.stdout.length, 1000);
    assert.ok(result.stdout.endsWith('199999\n200000\n'));
    assert.deepEqual(result.truncated, { stdout: true, stderr: false });
  });

  it('a huge line without newline arrives in bounded pieces', async () => {
    const pieces: number[] = [];
    const result = await runTool('sh', ['-c', 'head -c 300000 /dev/zero | tr "\\0" a'], { maxCaptureBytes: 10, onLine: (_s, line) => pieces.push(line.length) });
    assert.equal(pieces.reduce((a, b) => a + b, 0), 300000);
    assert.ok(Math.max(...pieces) <= 64 * 1024);
    assert.equal(result.stdout, 'aaaaaaaaaa');
  });
});
