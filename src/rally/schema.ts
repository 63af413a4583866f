import * as z from 'zod/mini';
import '../shared/zod.js';

// `rally task report --json` of Rally 3.3 (format_version 1.2), only the
// fields the verdict and the reports use; unknown fields pass (lenient: it is
// Rally's data, not ours). Built from real reports of passing, SLA-failing,
// erroring, aborted and GlanceImages tasks (test/fixtures/rally/).

export interface StatNode {
  name: string;
  display_name?: string | undefined;
  count_per_iteration?: number | undefined;
  data: { iteration_count: number; success: string };
  children: StatNode[];
}

export const StatNode: z.ZodMiniType<StatNode> = z.object({
  name: z.string(),
  display_name: z.optional(z.string()),
  count_per_iteration: z.optional(z.number()),
  data: z.object({ iteration_count: z.number(), success: z.string() }),
  get children() {
    return z._default(z.array(StatNode), []);
  },
});

export const SlaResult = z.object({ criterion: z.string(), success: z.boolean(), detail: z.string() });

/** `[type, message, traceback]` or `[]` for a good iteration. */
const IterationError = z.array(z.string());

const ContextStep = z.nullish(z.object({ error: z.nullish(IterationError) }));

export const Workload = z.object({
  uuid: z.string(),
  position: z._default(z.number(), 0),
  scenario: z.record(z.string(), z.unknown()),
  pass_sla: z.boolean(),
  sla_results: z.prefault(z.object({ sla: z._default(z.array(SlaResult), []) }), {}),
  total_iteration_count: z.number(),
  failed_iteration_count: z.number(),
  full_duration: z.nullish(z.number()),
  load_duration: z.nullish(z.number()),
  statistics: z.prefault(
    z.object({ durations: z.prefault(z.object({ atomics: z._default(z.array(StatNode), []) }), {}) }),
    {},
  ),
  data: z._default(z.array(z.object({ error: z._default(IterationError, []) })), []),
  contexts_results: z._default(
    z.array(z.object({ plugin_name: z.string(), setup: ContextStep, cleanup: ContextStep })),
    [],
  ),
});
export type Workload = z.infer<typeof Workload>;

export const Subtask = z.object({
  uuid: z.string(),
  title: z._default(z.string(), ''),
  status: z.optional(z.string()),
  workloads: z._default(z.array(Workload), []),
});

export const RallyTask = z.object({
  uuid: z.string(),
  status: z.string(),
  tags: z._default(z.array(z.string()), []),
  env_name: z.nullish(z.string()),
  pass_sla: z.boolean(),
  subtasks: z._default(z.array(Subtask), []),
});
export type RallyTask = z.infer<typeof RallyTask>;

export const RallyReport = z.object({
  info: z.object({ rally_version: z.string(), format_version: z.string() }),
  tasks: z.array(RallyTask),
});
export type RallyReport = z.infer<typeof RallyReport>;

/** A Rally task UUID, as `task list --uuids-only` prints them. */
export const TASK_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
