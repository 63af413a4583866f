import { startCli } from './start.js';

startCli(process.argv.slice(2));
