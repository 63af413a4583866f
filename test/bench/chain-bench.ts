// The local stack's demo chain (test/support/chain.ts) run BENCH_RUNS times (3), median per stage.
//   scripts/bench.sh --chain-only      (starts its own RabbitMQ and Keystone + Glance; Glance's
//   token cache as a site has it, BENCH_TOKEN_CACHE=300 s: the tests' 2 s measures this Keystone)
// Prints a markdown table for docs/benchmarks.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenstack } from '../support/openstack.js';
import { sharedRabbit } from '../support/rabbit.js';
import { runChain, seedPreviousImage, setUpChain } from '../support/chain.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const root = mkdtempSync(join(tmpdir(), 'packuilon-chain-bench-'));
const started = await Promise.all([startOpenstack({ tokenCacheSeconds: Number(process.env.BENCH_TOKEN_CACHE ?? 300) }), sharedRabbit()]);
const rabbit = started[1];
const openstack = { info: started[0], release: () => started[0].stop() };
try {
  const services = { amqpUrl: rabbit.url, openstack: openstack.info };
  const chain = await setUpChain(root, services, { imagePrefix: `bench${process.pid}-` });
  try {
    await seedPreviousImage(chain, openstack.info);
    const perStage = new Map<string, number[]>();
    const totals: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = Date.now();
      const run = await runChain(chain, services, { label: `bench run ${i}` });
      const failed = Object.entries(run.jobs).filter(([, v]) => v === 'FAIL');
      if (run.pipelineCode !== 0 || failed.length) throw new Error(`chain bench: run ${i}: pipeline exit ${run.pipelineCode}, failed ${failed.map(([j]) => j).join(', ')}\n${run.pipelineLog}`);
      totals.push(Date.now() - started);
      const seen = new Map<string, number>();
      for (const { stage, ms } of run.timings) seen.set(stage, (seen.get(stage) ?? 0) + ms);
      for (const [stage, ms] of seen) perStage.set(stage, [...(perStage.get(stage) ?? []), ms]);
      process.stderr.write(`chain bench: run ${i + 1}/${runs}: ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
    }
    const rows = [...perStage].map(([stage, values]) => `| ${stage} | ${(median(values) / 1000).toFixed(2)} | ${values.map((v) => (v / 1000).toFixed(2)).join(', ')} |`);
    process.stdout.write(['| stage | median s | runs (s) |', '|---|---:|---|', ...rows, `| **whole chain** | **${(median(totals) / 1000).toFixed(2)}** | ${totals.map((v) => (v / 1000).toFixed(2)).join(', ')} |`, ''].join('\n'));
  } finally {
    await chain.close();
  }
} finally {
  await Promise.all([rabbit.release(), openstack.release()]);
  rmSync(root, { recursive: true, force: true });
}
