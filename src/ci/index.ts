export { planImages, imageKeyOfPath, IMAGE_KEY, type Plan, type PlanAction, type PlanInput, type PlanCommit, type Parsed } from './plan.js';
export { planRange, type RangeRequest } from './range.js';
export { renderChildPipeline, AVAILABLE_STAGES, type ChainStage, type ChildPipelineOptions } from './child-pipeline.js';
export { ensureNewestReadyFirst, type ResourceGroupOptions, type ResourceGroupResult } from './resource-groups.js';
export { formatPlanText } from './text.js';
export { ManifestFacts } from './schema.js';
