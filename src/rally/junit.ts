import { create } from 'xmlbuilder2';
import type { TestOutcome } from './verdict.js';

export interface JunitInput {
  key: string;
  taskUuid?: string | undefined;
  imageIds: string[];
  threshold: number;
  outcome: TestOutcome;
}

interface Case {
  classname: string;
  name: string;
  time: number;
  failure?: string | undefined;
  error?: string | undefined;
}

/**
 * GitLab's JUnit report: one test case per workload, per SLA criterion (named
 * by its key, e.g. `failure_rate`) and per atomic action; a timeout or a run
 * Rally could not judge is a test case of its own.
 */
export function renderJunit(input: JunitInput): string {
  const { key, outcome, threshold } = input;
  const cases: Case[] = [];
  for (const workload of outcome.workloads) {
    const base = `${key}.${workload.label}`;
    const rateProblem = workload.rate !== null && workload.rate < threshold ? `success rate ${workload.rate}% < ${threshold}%` : undefined;
    cases.push({
      classname: base,
      name: 'workload',
      time: workload.seconds,
      failure: rateProblem ?? (workload.reasons.length ? workload.reasons.join('\n') : undefined),
    });
    for (const sla of workload.sla) cases.push({ classname: `${base}.sla`, name: sla.criterion, time: 0, failure: sla.success ? undefined : sla.detail });
    for (const atomic of workload.atomics) {
      cases.push({
        classname: `${base}.atomic`,
        name: atomic.name,
        time: 0,
        failure: atomic.rate !== null && atomic.rate < threshold ? `success rate ${atomic.rate}% < ${threshold}%` : undefined,
      });
    }
  }
  const covered = new Set(outcome.workloads.flatMap((workload) => workload.reasons));
  const other = outcome.reasons.filter((reason) => !covered.has(reason));
  if (outcome.verdict === 'error') cases.push({ classname: `${key}.rally`, name: 'run', time: 0, error: outcome.reasons.join('\n') });
  else if (other.length) cases.push({ classname: `${key}.rally`, name: 'task', time: 0, failure: other.join('\n') });

  const failures = cases.filter((entry) => entry.failure !== undefined).length;
  const errors = cases.filter((entry) => entry.error !== undefined).length;
  const time = cases.reduce((sum, entry) => sum + entry.time, 0).toFixed(3);
  const root = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' });
  const suites = root.ele('testsuites', { name: `packuilon ci test ${key}`, tests: cases.length, failures, errors, time });
  const suite = suites.ele('testsuite', { name: `rally ${key}`, tests: cases.length, failures, errors, skipped: 0, time });
  const properties = suite.ele('properties');
  properties.ele('property', { name: 'verdict', value: outcome.verdict });
  if (input.taskUuid) properties.ele('property', { name: 'task_uuid', value: input.taskUuid });
  properties.ele('property', { name: 'image_ids', value: input.imageIds.join(',') });
  properties.ele('property', { name: 'success_threshold', value: String(threshold) });
  for (const entry of cases) {
    const element = suite.ele('testcase', { classname: entry.classname, name: entry.name, time: entry.time.toFixed(3) });
    if (entry.failure !== undefined) element.ele('failure', { message: firstLine(entry.failure), type: 'rally' }).txt(entry.failure);
    if (entry.error !== undefined) element.ele('error', { message: firstLine(entry.error), type: 'rally' }).txt(entry.error);
  }
  return root.end({ prettyPrint: true }) + '\n';
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 500);
}
