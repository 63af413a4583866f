import { promoteCommand } from './lifecycle.js';

export const run = promoteCommand('rollback');
