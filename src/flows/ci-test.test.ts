import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/index.js';
import { silentLogger } from '../shared/log.js';
import { runCli } from '../../test/support/cli.js';
import { allGone, processesMentioning, RALLY_TASKS, rallyPids, rallyRepo, watchProcesses } from '../../test/support/rally-repo.js';
import { parseXml } from '../../test/support/xml.js';
import { ciTest } from './ci-test.js';

// Real Rally 3.3 with Dummy scenarios: no cloud needed. Each run makes its own
// database and env under out/<key>/rally/. Kept few and short: a task costs seconds.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HOSTILE = 'img "quoted" \'single\' {{ image_id }} {% raw %}\nsecond line: $(id) `id` \\ end';
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('ci test with real Rally', () => {
  it('runs in parallel with separate databases: pass (0), image failures (3), a task Rally rejects (1)', async () => {
    const pass = rallyRepo('web-sl7x-x86_64');
    const fail = rallyRepo('db-sl7x-x86_64', { imageName: HOSTILE, rally: { task: `${RALLY_TASKS}fail.yaml` } });
    const invalid = rallyRepo('mx-sl7x-x86_64', { rally: { task: `${RALLY_TASKS}invalid.yaml` } });
    const [passed, failed, rejected] = await Promise.all([
      runCli(['ci', 'test', 'web-sl7x-x86_64'], { cwd: pass }),
      runCli(['ci', 'test', 'db-sl7x-x86_64', '--junit', 'junit/db.xml'], { cwd: fail }),
      runCli(['ci', 'test', 'mx-sl7x-x86_64'], { cwd: invalid }),
    ]);

    assert.equal(passed.code, 0, passed.stderr + passed.stdout);
    const passRecord = readJson(join(pass, 'out/web-sl7x-x86_64/test.json'));
    assert.equal(passRecord.verdict, 'pass');
    assert.match(passRecord.task_uuid, UUID);
    assert.deepEqual(passRecord.image_ids, ['11111111-2222-3333-4444-555555555555']);
    assert.match(passed.stdout, /^Image web-sl7x-x86_64 \(11111111-2222-3333-4444-555555555555\) PASSED its Rally test \(task [0-9a-f-]{36}\)\. Workloads: dummy-pass: Dummy\.dummy: 2\/2 iterations succeeded \(100%\), SLA passed\./);
    const passJunit = parseXml(readFileSync(join(pass, 'out/web-sl7x-x86_64/rally-junit.xml'), 'utf8'));
    assert.equal(passJunit.getAttribute('failures'), '0');
    assert.deepEqual([...passJunit.getElementsByTagName('testcase')].map((c) => c.getAttribute('name')), ['workload', 'failure_rate', 'max_seconds_per_iteration', 'foo', 'foo > bar']);
    assert.match(readFileSync(join(pass, 'out/web-sl7x-x86_64/rally/report.html'), 'utf8'), /<html/i);
    const args = readJson(join(pass, 'out/web-sl7x-x86_64/rally/task-args.json'));
    assert.equal(args.image_name, 'web-sl7x-x86_64 AQ');
    assert.equal(args.flavor, 'm1.small');

    assert.equal(failed.code, 3, failed.stderr + failed.stdout);
    const failRecord = readJson(join(fail, 'out/db-sl7x-x86_64/test.json'));
    assert.equal(failRecord.verdict, 'fail');
    assert.deepEqual(failRecord.reasons, [
      'sla-fail: Dummy.dummy: SLA max_seconds_per_iteration failed: Maximum seconds per iteration 0.20s <= 0.10s - Failed',
      'under-threshold: Dummy.failure: success rate 80% < 90% (1 of 5 iterations failed)',
      'erroring: Dummy.dummy_exception: success rate 0% < 90% (1 of 1 iterations failed)',
    ]);
    // The hostile image name reached the scenario as one value, unrendered.
    const report = readJson(join(fail, 'out/db-sl7x-x86_64/rally/report.json'));
    assert.equal(report.tasks[0].subtasks[2].workloads[0].scenario['Dummy.dummy_exception'].message, HOSTILE);
    const failJunit = parseXml(readFileSync(join(fail, 'junit/db.xml'), 'utf8'));
    assert.equal(failJunit.getAttribute('failures'), '4');

    assert.equal(rejected.code, 1, rejected.stderr + rejected.stdout);
    const rejectedRecord = readJson(join(invalid, 'out/mx-sl7x-x86_64/test.json'));
    assert.equal(rejectedRecord.verdict, 'error');
    assert.match(rejectedRecord.reasons[0], /^Rally task [0-9a-f-]{36} ended crashed: There is no Scenario plugin `Dummy\.no_such_scenario` in any platform\.$/);

    // Separate databases, and none left behind: the env in it held the job's OS_* credentials.
    const confs = [pass, fail, invalid].map((dir, i) => readFileSync(join(dir, 'out', ['web', 'db', 'mx'][i] + '-sl7x-x86_64', 'rally/rally.conf'), 'utf8'));
    for (const [i, dir] of [pass, fail, invalid].entries()) {
      assert.ok(confs[i]!.includes(`sqlite:///${dir}/out/`), confs[i]);
      assert.ok(!existsSync(join(dir, 'out', ['web', 'db', 'mx'][i] + '-sl7x-x86_64', 'rally/rally.sqlite')));
    }
    assert.notEqual(passRecord.task_uuid, failRecord.task_uuid);
  });

  it('aborts a task that runs past rally.timeout, kills it when it does not end, and fails the image (3)', async () => {
    const key = 'slow-sl7x-x86_64';
    const repo = rallyRepo(key, { rally: { task: `${RALLY_TASKS}sleep.yaml`, timeout: 8, task_args: { sleep: 60 } } });
    const started = Date.now();
    const watcher = watchProcesses(repo);
    const result = await ciTest({ key, loaded: loadConfig({ env: {}, cwd: repo }), cwd: repo, env: {}, log: silentLogger(), abortGraceMs: 3000 });
    const seen = watcher.stop();
    assert.equal(result.exitCode, 3);
    assert.equal(result.verdict, 'fail');
    assert.match(result.outcome.reasons[0]!, /^ran past 8 s \(rally\.timeout\)/);
    assert.ok(Date.now() - started < 120_000, 'not the 180 s the task wanted');
    const pids = [...new Set([...seen, ...rallyPids(result.files.log)])];
    assert.ok(seen.length > 0, 'the Rally processes were seen running');
    assert.ok(await allGone(pids), `no Rally process left: ${pids.join(' ')}`);
    assert.deepEqual(processesMentioning(repo), []);
    assert.equal(readJson(result.files.test).verdict, 'fail');
  });

  it('aborts the task when the job is cancelled and exits 1, never reading the cut run as a pass', async () => {
    const key = 'cut-sl7x-x86_64';
    const repo = rallyRepo(key, { rally: { task: `${RALLY_TASKS}sleep.yaml`, task_args: { sleep: 4 } } });
    const cancel = new AbortController();
    const logFile = join(repo, 'out', key, 'rally', 'rally.log');
    const watcher = setInterval(() => {
      if (existsSync(logFile) && /Task [0-9a-f-]{36} \| Starting/.test(readFileSync(logFile, 'utf8'))) cancel.abort();
    }, 200);
    const processes = watchProcesses(repo);
    const result = await ciTest({ key, loaded: loadConfig({ env: {}, cwd: repo }), cwd: repo, env: {}, log: silentLogger(), signal: cancel.signal }).finally(() => clearInterval(watcher));
    const seen = processes.stop();
    assert.ok(cancel.signal.aborted);
    assert.equal(result.exitCode, 1);
    assert.equal(result.verdict, 'error');
    assert.match(result.outcome.reasons[0]!, /^cancelled: the job was stopped; Rally task [0-9a-f-]{36} was aborted/);
    assert.match(readFileSync(logFile, 'utf8'), /\[rally task abort stdout\] Task [0-9a-f-]{36} successfully stopped/);
    assert.ok(seen.length > 0);
    assert.ok(await allGone([...seen, ...rallyPids(logFile)]));
    assert.deepEqual(processesMentioning(repo), []);
  });
});

describe('ci test without Rally, and its inputs', () => {
  it('exits 1 when rally is not installed, with a verdict of error on record', async () => {
    const repo = rallyRepo('web-sl7x-x86_64');
    const result = await runCli(['ci', 'test', 'web-sl7x-x86_64'], { cwd: repo, env: { PATH: '/nonexistent' } });
    assert.equal(result.code, 1);
    const record = readJson(join(repo, 'out/web-sl7x-x86_64/test.json'));
    assert.equal(record.verdict, 'error');
    assert.match(record.reasons[0], /^rally: not installed/);
    assert.equal(parseXml(readFileSync(join(repo, 'out/web-sl7x-x86_64/rally-junit.xml'), 'utf8')).getAttribute('errors'), '1');
  });

  it('picks the task: --task > templates/rally/<key>.yaml > rally.task', async () => {
    const repo = rallyRepo('web-sl7x-x86_64', { rally: { task: 'templates/rally/missing.yaml' } });
    const env = { PATH: '/nonexistent' };
    let result = await runCli(['ci', 'test', 'web-sl7x-x86_64'], { cwd: repo, env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /rally\.task: Rally task .*templates\/rally\/missing\.yaml does not exist/);
    result = await runCli(['ci', 'test', 'web-sl7x-x86_64', '--task', 'nope.yaml'], { cwd: repo, env });
    assert.match(result.stderr, /--task: Rally task .*nope\.yaml does not exist/);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(repo, 'templates/rally'), { recursive: true });
    writeFileSync(join(repo, 'templates/rally/web-sl7x-x86_64.yaml'), '---\n');
    result = await runCli(['ci', 'test', 'web-sl7x-x86_64'], { cwd: repo, env });
    assert.equal(result.code, 1, 'the key\'s own task was found; only rally is missing');
  });

  it('refuses with exit 2: no image, a hostile image ID, a hostile key, a build record of another image', async () => {
    const bare = rallyRepo('web-sl7x-x86_64', { record: false });
    let result = await runCli(['ci', 'test', 'web-sl7x-x86_64'], { cwd: bare });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no image to test: give --image-id ID, or run ci build first \(.*build\.json is missing\)/);
    result = await runCli(['ci', 'test', 'web-sl7x-x86_64', '--image-id', 'a\nIMAGE_ID=evil'], { cwd: bare });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--image-id: "a\\nIMAGE_ID=evil" is not an image ID/);
    result = await runCli(['ci', 'test', '../etc'], { cwd: bare });
    assert.equal(result.code, 2);
    const other = rallyRepo('web-sl7x-x86_64');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(other, 'out/web-sl7x-x86_64/build.json'), JSON.stringify({ key: 'other', commit: null, builds: [] }));
    result = await runCli(['ci', 'test', 'web-sl7x-x86_64'], { cwd: other });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /build\.json: key: expected web-sl7x-x86_64, received other/);
  });
});
