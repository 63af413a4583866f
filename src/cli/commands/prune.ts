export { runPrune as run } from './lifecycle.js';
