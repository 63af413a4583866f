import { startAquilonServer } from '../support/aquilon-server.js';
const server = await startAquilonServer({ dir: process.argv[2]! });
process.stdout.write(`${server.indexUrl}\n`);
