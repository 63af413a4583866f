// Writes schema/packuilon.schema.json from the zod config schema; `--check` fails if it is stale.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import * as z from 'zod/mini';
import { Config } from '../src/config/schema.js';

const file = new URL('../schema/packuilon.schema.json', import.meta.url);
const schema = { ...z.toJSONSchema(Config, { io: 'input' }), title: 'packuilon.yaml', description: 'Packuilon configuration (see README: Configuration)' };
const text = `${JSON.stringify(schema, null, 2)}\n`;
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('schema/packuilon.schema.json is stale: run npm run schema');
    process.exit(1);
  }
} else {
  mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
  writeFileSync(file, text);
}
