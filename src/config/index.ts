export { loadConfig, environmentKeys, type LoadedConfig, type LoadOptions } from './load.js';
export { Config } from './schema.js';
