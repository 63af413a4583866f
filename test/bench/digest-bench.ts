/**
 * What canonical digests cost against digests of the bytes, on a generated site:
 *
 *   node --import tsx test/bench/gen-site.ts --dir /tmp/site --hosts 20000
 *   node --import tsx test/bench/digest-bench.ts --dir /tmp/site [--runs 5]
 *
 * Reads every profile into memory first (decompressing .gz), then times, per
 * run over all of them: sha256 of the bytes (the old digest); UTF-8 check +
 canonical digest (what `detect` now does per downloaded profile), and the
 * same digest built by the reference serialiser (canonicalJson, string built
 * piece by piece: the release before), alternating in one process.
 * Prints medians as a Markdown table row.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { canonicalJson, profileDigest, sha256 } from '../../src/shared/digest.js';
import { assertUtf8Profile } from '../../src/shared/profile-text.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, runs: { type: 'string', default: '5' } } });
if (!values.dir) throw new Error('--dir D: a site made by gen-site.ts');
const dir = values.dir;
const names = readdirSync(dir).filter((name) => /\.json(\.gz)?$/.test(name));
const profiles = names.map((name) => {
  const bytes = readFileSync(join(dir, name));
  return { name, bytes: name.endsWith('.gz') ? gunzipSync(bytes) : bytes };
});
const total = profiles.reduce((sum, p) => sum + p.bytes.length, 0);

function time(what: () => void): number {
  const start = process.hrtime.bigint();
  what();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bytesRuns: number[] = [];
const canonicalRuns: number[] = [];
const referenceRuns: number[] = [];
let sink = 0;
for (let run = 0; run < Number(values.runs); run++) {
  bytesRuns.push(time(() => profiles.forEach((p) => (sink += sha256(p.bytes).length))));
  canonicalRuns.push(
    time(() =>
      profiles.forEach((p) => {
        assertUtf8Profile(p.name, p.bytes);
        sink += profileDigest(p.bytes).length;
      }),
    ),
  );
  referenceRuns.push(
    time(() =>
      profiles.forEach((p) => {
        assertUtf8Profile(p.name, p.bytes);
        sink += sha256(canonicalJson(JSON.parse(p.bytes.toString('utf8')))).length;
      }),
    ),
  );
}
const b = median(bytesRuns);
const c = median(canonicalRuns);
const r = median(referenceRuns);
console.log('| profiles | bytes | runs | sha256 of bytes ms | canonical digest ms | per profile, over bytes | reference serialiser ms | reference / canonical |');
console.log(`| ${profiles.length.toLocaleString('en')} | ${(total / 1e6).toFixed(0)} MB | ${Number(values.runs)} | ${b.toFixed(0)} | ${c.toFixed(0)} | +${(((c - b) / profiles.length) * 1000).toFixed(0)} µs | ${r.toFixed(0)} | ${(r / c).toFixed(2)}× |`);
void sink;
