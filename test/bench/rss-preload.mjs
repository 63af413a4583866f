// Loaded into the benchmarked CLI with `node --import <this file> bin/packuilon.mjs …`:
// writes the process's peak resident set size (KiB, getrusage ru_maxrss) to
// $BENCH_RSS_FILE when it exits. Plain JS so the child needs no TypeScript loader.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, `${process.resourceUsage().maxRSS}\n`);
    } catch {
      // the bench reports a missing figure; never change the CLI's exit
    }
  });
}
