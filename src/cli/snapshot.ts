// Entry of the V8 start-up snapshot (scripts/bundle.mjs builds it with
// `node --build-snapshot`, bin/packuilon starts `detect` from it): the modules
// below are compiled and evaluated once, at build time, instead of at every
// start. It holds `detect` alone: the other commands' modules are left out of
// its build. The arguments follow `node --snapshot-blob … --`: argv[1] on.
import { startupSnapshot } from 'node:v8';
import { startCli } from './start.js';

// What every command loads first, detect's own modules (the call cdp-listend makes after every
// `aq make`) and the broker client queue mode loads at the first changed profile. (In this
// build amqplib loads node:tls at its first use: a Node 20 snapshot cannot hold TLS's state.)
void Promise.all([import('../config/index.js'), import('../shared/log.js'), import('./commands/detect.js'), import('../queue/index.js')]);

startupSnapshot.setDeserializeMainFunction(() => startCli(process.argv.slice(1), { exitWhenDone: true }));
