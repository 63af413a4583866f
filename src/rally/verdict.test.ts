import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseXml } from '../../test/support/xml.js';
import { decideVerdict, RallyReport, renderJunit, summarize, type RallyTask } from './index.js';

// Real reports of Rally 3.3.0 (test/fixtures/rally/): passing, SLA-failing and
// erroring, a random failure inside an atomic action, an aborted task, a task
// that crashed in validation, and GlanceImages against a real Keystone + Glance.
const fixture = (name: string): RallyTask => RallyReport.parse(JSON.parse(readFileSync(new URL(`../../test/fixtures/rally/report-${name}.json`, import.meta.url), 'utf8'))).tasks[0]!;
const facts = (task: RallyTask) => ({ task, taskUuid: task.uuid, timeoutSeconds: 60 });

describe('rally verdict', () => {
  it('passes a task whose SLA passed and every rate is 100%', () => {
    const outcome = decideVerdict(facts(fixture('pass')), 90);
    assert.equal(outcome.verdict, 'pass');
    assert.deepEqual(outcome.reasons, []);
    assert.deepEqual(outcome.workloads.map((w) => [w.label, w.rate, w.atomics.map((a) => a.name)]), [['dummy-pass: Dummy.dummy', 100, ['foo', 'foo > bar']]]);
  });

  it('passes the GlanceImages task; a cleanup error of an absent Neutron is not the image\'s', () => {
    const outcome = decideVerdict(facts(fixture('glance-real')), 90);
    assert.equal(outcome.verdict, 'pass', outcome.reasons.join('\n'));
    assert.ok(outcome.workloads[0]!.atomics.some((atomic) => atomic.name === 'glance_v2.create_image > glance_v2.get_image (x2)'));
  });

  it('fails on the SLA criterion and the erroring scenario, naming criterion, workload and rate', () => {
    const outcome = decideVerdict(facts(fixture('fail')), 90);
    assert.equal(outcome.verdict, 'fail');
    assert.deepEqual(outcome.reasons, [
      'dummy-sla-fail: Dummy.dummy: SLA max_seconds_per_iteration failed: Maximum seconds per iteration 0.30s <= 0.10s - Failed',
      'dummy-exception: Dummy.dummy_exception: SLA failure_rate failed: Failure rate criteria 0.00% <= 100.00% <= 0.00% - Failed',
      'dummy-exception: Dummy.dummy_exception: success rate 0% < 90% (2 of 2 iterations failed)',
    ]);
    assert.deepEqual(outcome.workloads[1]!.errors, ["DummyScenarioException: Dummy scenario expected exception: 'image did not boot'"]);
  });

  it('fails on an atomic action under the threshold', () => {
    const outcome = decideVerdict(facts(fixture('atomic-fail')), 70);
    assert.equal(outcome.verdict, 'fail');
    assert.ok(outcome.reasons.includes('rf: Dummy.dummy_random_fail_in_atomic: atomic action dummy_fail_test: success rate 0% < 70%'), outcome.reasons.join('\n'));
    assert.ok(!outcome.reasons.some((reason) => reason.includes('success rate 75%')), 'the workload (75%) is above 70%');
  });

  it('fails on the rate alone when the SLA passed', () => {
    const task = fixture('atomic-fail');
    const lenient = structuredClone(task);
    for (const workload of lenient.subtasks.flatMap((subtask) => subtask.workloads)) {
      workload.pass_sla = true;
      workload.sla_results.sla = workload.sla_results.sla.map((sla) => ({ ...sla, success: true }));
    }
    lenient.pass_sla = true;
    const outcome = decideVerdict(facts(lenient), 90);
    assert.equal(outcome.verdict, 'fail');
    assert.ok(outcome.reasons.some((reason) => reason.endsWith('success rate 75% < 90% (1 of 4 iterations failed)')), outcome.reasons.join('\n'));
    assert.equal(decideVerdict(facts(lenient), 0).verdict, 'pass');
  });

  it('never reads an aborted task as a pass: timeout fails, cancel is an error, an abort by someone else is an error', () => {
    const aborted = fixture('aborted');
    assert.equal(aborted.subtasks[0]!.workloads[0]!.failed_iteration_count, 0, 'the cut iteration is recorded as a success');
    const timeout = decideVerdict({ ...facts(aborted), stopped: 'timeout', timeoutSeconds: 3 }, 90);
    assert.equal(timeout.verdict, 'fail');
    assert.match(timeout.reasons[0]!, /^ran past 3 s \(rally\.timeout\)/);
    assert.equal(decideVerdict({ ...facts(aborted), stopped: 'cancelled' }, 90).verdict, 'error');
    assert.deepEqual(decideVerdict(facts(aborted), 90).reasons, [`Rally task ${aborted.uuid} ended aborted`]);
  });

  it('says nothing about the image for a crashed task, no data, a failure or a quota error', () => {
    assert.equal(decideVerdict(facts(fixture('crashed')), 90).verdict, 'error');
    assert.deepEqual(decideVerdict({ timeoutSeconds: 9, failure: 'rally: not installed' }, 90), { verdict: 'error', reasons: ['rally: not installed'], workloads: [] });
    assert.deepEqual(decideVerdict({ timeoutSeconds: 9 }, 90).reasons, ['no data: Rally gave no task report']);
    const quota = structuredClone(fixture('fail'));
    quota.subtasks[1]!.workloads[0]!.data[0]!.error = ['OverLimit', 'Quota exceeded for instances', 'Traceback'];
    const outcome = decideVerdict(facts(quota), 90);
    assert.equal(outcome.verdict, 'error');
    assert.match(outcome.reasons[0]!, /the cloud failed, not the image: OverLimit: Quota exceeded/);
  });
});

describe('rally junit and summary', () => {
  it('has a test case per workload, per SLA criterion by its key and per atomic action', () => {
    const task = fixture('fail');
    const outcome = decideVerdict(facts(task), 90);
    const xml = renderJunit({ key: 'web-sl7x-x86_64', taskUuid: task.uuid, imageIds: ['id-1'], threshold: 90, outcome });
    const suite = parseXml(xml).getElementsByTagName('testsuite')[0]!;
    const cases = [...suite.getElementsByTagName('testcase')].map((c) => `${c.getAttribute('classname')}|${c.getAttribute('name')}|${c.getElementsByTagName('failure').length ? 'F' : 'ok'}`);
    assert.deepEqual(cases, [
      'web-sl7x-x86_64.dummy-sla-fail: Dummy.dummy|workload|F',
      'web-sl7x-x86_64.dummy-sla-fail: Dummy.dummy.sla|failure_rate|ok',
      'web-sl7x-x86_64.dummy-sla-fail: Dummy.dummy.sla|max_seconds_per_iteration|F',
      'web-sl7x-x86_64.dummy-sla-fail: Dummy.dummy.atomic|foo|ok',
      'web-sl7x-x86_64.dummy-sla-fail: Dummy.dummy.atomic|foo > bar|ok',
      'web-sl7x-x86_64.dummy-exception: Dummy.dummy_exception|workload|F',
      'web-sl7x-x86_64.dummy-exception: Dummy.dummy_exception.sla|failure_rate|F',
    ]);
    assert.equal(suite.getAttribute('failures'), '4');
    assert.equal(suite.getAttribute('tests'), '7');
  });

  it('keeps hostile text well-formed: quotes, markup, control characters', () => {
    const reason = 'image "x" <did not> & boot \u0001\u001b[31m ]]> {{ x }}';
    const xml = renderJunit({ key: 'k', imageIds: ['a"b'], threshold: 90, outcome: { verdict: 'error', reasons: [reason], workloads: [] } });
    const root = parseXml(xml);
    assert.equal(root.getElementsByTagName('error')[0]!.textContent, reason.replace(/[\u0001\u001b]/g, '\uFFFD'));
    assert.equal(root.getElementsByTagName('property')[1]!.getAttribute('value'), 'a"b');
    assert.equal(root.getAttribute('errors'), '1');
  });

  it('summarizes in one paragraph', () => {
    const task = fixture('fail');
    const text = summarize({ key: 'k', imageIds: ['id-1'], taskUuid: task.uuid, threshold: 90, outcome: decideVerdict(facts(task), 90) });
    assert.ok(!text.includes('\n'));
    assert.match(text, /^Image k \(id-1\) FAILED its Rally test \(task 44bcc96d-/);
    assert.match(text, /dummy-exception: Dummy.dummy_exception: 0\/2 iterations succeeded \(0%\), SLA failed \(failure_rate\)/);
  });
});
