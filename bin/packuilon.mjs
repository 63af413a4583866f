#!/usr/bin/env node
// The bundle (dist/bundle) loads fastest; the tsc output works too.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/bundle/packuilon.mjs', import.meta.url);
const entry = existsSync(bundle) ? bundle : new URL('../dist/cli/run.js', import.meta.url);
await import(entry.href);
