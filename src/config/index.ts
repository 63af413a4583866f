export { loadConfig, environmentKeys, type LoadedConfig, type LoadOptions } from './load.js';
export { Config, RallyConfig, NotifyConfig, FORGE_KEYS_COMMENT } from './schema.js';
