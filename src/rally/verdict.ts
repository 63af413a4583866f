import type { RallyTask, StatNode, Workload } from './schema.js';

export type Verdict = 'pass' | 'fail' | 'error';

/** What happened around the task, as the runner saw it. */
export interface RunFacts {
  /** The task was stopped by us: past the timeout, or the job was cancelled. */
  stopped?: 'timeout' | 'cancelled' | undefined;
  timeoutSeconds: number;
  /** Why Rally could not say anything (not installed, no task made, unreadable report). */
  failure?: string | undefined;
  /** The last lines of `task start` that say something (a validation error). */
  detail?: string | undefined;
  taskUuid?: string | undefined;
  task?: RallyTask | undefined;
}

export interface RateResult {
  name: string;
  /** Percent; null when Rally gave no number. */
  rate: number | null;
  count: number;
}

export interface WorkloadResult {
  /** `subtask title: Scenario.name`, or the scenario alone when they agree. */
  label: string;
  scenario: string;
  iterations: number;
  failed: number;
  rate: number | null;
  seconds: number;
  sla: { criterion: string; success: boolean; detail: string }[];
  atomics: RateResult[];
  /** Distinct `Type: message` of failed iterations and context set-ups. */
  errors: string[];
  reasons: string[];
}

export interface TestOutcome {
  verdict: Verdict;
  reasons: string[];
  workloads: WorkloadResult[];
}

// Failures that are the cloud's or the identity's, not the image's: a run that
// hit them says nothing about the image (exit 1, retried, never rejected).
const CLOUD_SIDE = /quota|overlimit|over limit|limit exceeded|unauthori[sz]ed|authorizationfailure|authfailure|forbidden|endpointnotfound|connectfailure|connection refused|connectionrefused|serviceunavailable|service unavailable|discoveryfailure|gatewaytimeout/i;

const GOOD_STATUSES = new Set(['finished', 'sla_failed']);

/**
 * pass = Rally's SLA passed AND the success rate of every workload and of
 * every atomic action ≥ the threshold. fail = the image's fault (SLA, rate,
 * timeout). error = Rally could not say anything about the image.
 */
export function decideVerdict(facts: RunFacts, threshold: number): TestOutcome {
  const workloads = facts.task ? facts.task.subtasks.flatMap((subtask) => subtask.workloads.map((workload) => judgeWorkload(subtask.title, workload, threshold))) : [];
  const error = (...reasons: string[]): TestOutcome => ({ verdict: 'error', reasons, workloads });
  if (facts.stopped === 'cancelled') {
    return error(`cancelled: the job was stopped${facts.taskUuid ? `; Rally task ${facts.taskUuid} was aborted` : ''}, so its results say nothing about the image`);
  }
  // An aborted Rally records the cut iteration as a success: its numbers are never read as a pass.
  if (facts.stopped === 'timeout') {
    return { verdict: 'fail', reasons: [`ran past ${facts.timeoutSeconds} s (rally.timeout): task ${facts.taskUuid ?? '(not yet listed)'} aborted`], workloads };
  }
  if (facts.failure) return error(facts.failure);
  const task = facts.task;
  if (!task) return error('no data: Rally gave no task report');
  if (!GOOD_STATUSES.has(task.status)) {
    const detail = facts.detail?.split('\n').at(-1);
    return error(`Rally task ${task.uuid} ended ${task.status}${detail ? `: ${detail}` : ''}`);
  }
  if (workloads.length === 0 || workloads.every((workload) => workload.iterations === 0)) return error(`no data: Rally task ${task.uuid} ran no iterations`);
  const cloud = workloads.flatMap((workload) => workload.errors.filter((text) => CLOUD_SIDE.test(text)).map((text) => `${workload.label}: the cloud failed, not the image: ${text}`));
  if (cloud.length) return error(...cloud);
  const reasons = workloads.flatMap((workload) => workload.reasons);
  if (!task.pass_sla && reasons.length === 0) reasons.push(`Rally task ${task.uuid}: SLA failed`);
  return reasons.length ? { verdict: 'fail', reasons, workloads } : { verdict: 'pass', reasons: [], workloads };
}

function judgeWorkload(title: string, workload: Workload, threshold: number): WorkloadResult {
  const scenario = Object.keys(workload.scenario)[0] ?? '(no scenario)';
  const label = title && title !== scenario ? `${title}: ${scenario}` : scenario;
  const iterations = workload.total_iteration_count;
  const failed = workload.failed_iteration_count;
  const rate = iterations > 0 ? round(((iterations - failed) / iterations) * 100) : null;
  const atomics = flatten(workload.statistics.durations.atomics);
  const reasons: string[] = [];
  for (const sla of workload.sla_results.sla) {
    if (!sla.success) reasons.push(`${label}: SLA ${sla.criterion} failed: ${sla.detail}`);
  }
  if (!workload.pass_sla && !workload.sla_results.sla.some((sla) => !sla.success)) reasons.push(`${label}: SLA failed`);
  if (rate !== null && rate < threshold) reasons.push(`${label}: success rate ${rate}% < ${threshold}% (${failed} of ${iterations} iterations failed)`);
  for (const atomic of atomics) {
    if (atomic.rate !== null && atomic.rate < threshold) reasons.push(`${label}: atomic action ${atomic.name}: success rate ${atomic.rate}% < ${threshold}%`);
  }
  const errors = new Set<string>();
  for (const iteration of workload.data) if (iteration.error.length) errors.add(errorText(iteration.error));
  for (const context of workload.contexts_results) {
    if (context.setup?.error?.length) errors.add(`context ${context.plugin_name} set-up: ${errorText(context.setup.error)}`);
  }
  return {
    label,
    scenario,
    iterations,
    failed,
    rate,
    seconds: workload.full_duration ?? workload.load_duration ?? 0,
    sla: workload.sla_results.sla,
    atomics,
    errors: [...errors],
    reasons,
  };
}

/** Every atomic action with its children, by display name (`glance_v2.get_image (x2)`). */
function flatten(nodes: StatNode[], parent = ''): RateResult[] {
  return nodes.flatMap((node) => {
    const name = `${parent}${node.display_name ?? node.name}`;
    return [{ name, rate: parseRate(node.data.success), count: node.data.iteration_count }, ...flatten(node.children, `${name} > `)];
  });
}

function parseRate(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  return match ? round(Number(match[1])) : null;
}

function errorText(error: string[]): string {
  const [type = 'Error', message = ''] = error;
  return `${type}: ${message}`.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
