/**
 * profiles-info.xml parsing on hostile shapes, 100,000 against 1,000,000 repetitions:
 *
 *   node --import tsx test/bench/index-parse-bench.ts [--runs 5]
 *
 * Prints a Markdown table: median ms per size and their ratio (linear ≈ 10).
 */
import { parseArgs } from 'node:util';
import { parseProfileIndex } from '../../src/detect/profile-index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const wrap = (body: string) => `<?xml version='1.0' encoding='utf-8'?>\n<profiles>${body}</profiles>\n`;
const shapes: [string, (count: number) => string][] = [
  ['`<profile ` unterminated', (count) => '<profile '.repeat(count)],
  ['`<profile a ` … one `>`', (count) => `${'<profile a '.repeat(count)}>`],
  ["`<profile mtime='1'>x` never closed", (count) => "<profile mtime='1'>x".repeat(count)],
  ['real entries (÷4)', (count) => "<profile mtime='1700000000'>host.example.org.json</profile>\n".repeat(count / 4)],
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = (xml: string) => {
  const all: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint();
    parseProfileIndex('bench', xml);
    all.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(all);
};
console.log('| shape | 100k: MB | 100k ms | 1M ms | ratio |');
console.log('|---|--:|--:|--:|--:|');
for (const [what, make] of shapes) {
  const small = wrap(make(100_000));
  const large = wrap(make(1_000_000));
  const a = time(small);
  const b = time(large);
  console.log(`| ${what} | ${(small.length / 1e6).toFixed(1)} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(1)} |`);
}
