import type { TestOutcome } from './verdict.js';

const WORDS = { pass: 'PASSED', fail: 'FAILED', error: 'could not be judged' } as const;

/** The one paragraph the job log shows: verdict, task, every workload's numbers, the reasons. */
export function summarize(input: { key: string; imageIds: string[]; taskUuid?: string | undefined; threshold: number; outcome: TestOutcome }): string {
  const { outcome } = input;
  const parts = [`Image ${input.key} (${input.imageIds.join(', ') || 'no image ID'}) ${WORDS[outcome.verdict]} its Rally test`];
  if (input.taskUuid) parts[0] += ` (task ${input.taskUuid})`;
  parts[0] += '.';
  if (outcome.workloads.length) {
    const lines = outcome.workloads.map((workload) => {
      const slaFailed = workload.sla.filter((sla) => !sla.success).map((sla) => sla.criterion);
      return `${workload.label}: ${workload.iterations - workload.failed}/${workload.iterations} iterations succeeded (${workload.rate ?? 'n/a'}%), SLA ${slaFailed.length ? `failed (${slaFailed.join(', ')})` : 'passed'}`;
    });
    parts.push(`Workloads: ${lines.join('; ')}.`);
  }
  parts.push(`Threshold ${input.threshold}% per workload and atomic action.`);
  if (outcome.reasons.length) parts.push(`Reasons: ${outcome.reasons.join('; ')}.`);
  return parts.join(' ').replace(/\s*\n\s*/g, ' ');
}
