export { loadConfig, environmentKeys, type LoadedConfig, type LoadOptions } from './load.js';
export { Config, RallyConfig, NotifyConfig } from './schema.js';
