export { runRallyTask, ownRallyConf, type RunTaskOptions, type TaskRun } from './run-task.js';
export { decideVerdict, type Verdict, type TestOutcome, type WorkloadResult, type RunFacts } from './verdict.js';
export { renderJunit, type JunitInput } from './junit.js';
export { summarize } from './summary.js';
export { RallyReport, RallyTask } from './schema.js';
