/**
 * Where a benchmarked `detect` spends its time, from three sources gathered on
 * one extra (unmeasured) run per scenario:
 *   - the child's V8 CPU profile (`--cpu-prof`): self time per function and per module,
 *   - a `git` shim on PATH logging every git process (start, end, subcommand),
 *   - the CLI's own pino log lines (stderr), as a timeline relative to the spawn.
 */
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by bucket: (idle) = waiting on I/O or child processes, (garbage collector), a module, … */
  byModule: { name: string; ms: number }[];
  topFunctions: { name: string; where: string; ms: number }[];
}

/** Module a frame belongs to: a src/ file (from the tsc output under dist/), a dependency, node internals. */
function moduleOf(url: string, root: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return `dep:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const rel = relative(root, path);
  if (rel.startsWith('dist/bundle/')) return `bundle:${rel.slice('dist/bundle/'.length)}`;
  if (rel.startsWith('dist/')) return `src/${rel.slice('dist/'.length).replace(/\.js$/, '.ts')}`;
  return rel;
}

export function summariseCpuProfile(file: string, root: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const modules = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const special = /^\((idle|program|garbage collector|root)\)$/.test(functionName);
    const module = special ? functionName : moduleOf(url, root);
    modules.set(module, (modules.get(module) ?? 0) + us);
    if (special) continue;
    const where = `${module}:${lineNumber + 1}`;
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    byModule: [...modules].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map(({ name, where, us }) => ({ name, where, ms: us / 1000 })),
  };
}

export function newestCpuProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const last = files[files.length - 1];
  return last ? join(dir, last) : undefined;
}

/** A `git` wrapper that appends `start end exit subcommand` (epoch seconds) to $BENCH_GIT_LOG. */
export function writeGitShim(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const real = execFileSync('bash', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const shim = join(dir, 'git');
  writeFileSync(
    shim,
    `#!/bin/bash
# bench: time every git process (bash's EPOCHREALTIME: no extra process per call)
s=$EPOCHREALTIME
${real} "$@"
rc=$?
[ -n "$BENCH_GIT_LOG" ] && printf '%s %s %s %s\\n' "$s" "$EPOCHREALTIME" "$rc" "$1" >> "$BENCH_GIT_LOG"
exit $rc
`,
  );
  chmodSync(shim, 0o755);
  return dir;
}

export interface GitUsage {
  calls: number;
  totalMs: number;
  bySubcommand: { subcommand: string; calls: number; ms: number }[];
}

export function summariseGitLog(file: string): GitUsage {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { calls: 0, totalMs: 0, bySubcommand: [] };
  }
  const by = new Map<string, { calls: number; ms: number }>();
  let calls = 0;
  let totalMs = 0;
  for (const line of text.split('\n')) {
    const [start, end, , sub] = line.split(' ');
    if (!start || !end) continue;
    const ms = (Number(end) - Number(start)) * 1000;
    const name = sub ?? '?';
    const entry = by.get(name) ?? { calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += ms;
    by.set(name, entry);
    calls++;
    totalMs += ms;
  }
  return { calls, totalMs, bySubcommand: [...by].map(([subcommand, v]) => ({ subcommand, ...v })).sort((a, b) => b.ms - a.ms) };
}

/** The CLI's log lines as `+ms message` relative to the spawn, runs of one message folded. */
export function logTimeline(stderr: string, spawnedAtMs: number): string[] {
  const out: string[] = [];
  let last: { msg: string; first: number; lastAt: number; count: number } | undefined;
  const flush = () => {
    if (!last) return;
    out.push(last.count > 1 ? `+${last.first}…${last.lastAt} ms  ${last.msg} (×${last.count})` : `+${last.first} ms  ${last.msg}`);
  };
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { time?: string; msg?: string };
    try {
      entry = JSON.parse(line) as { time?: string; msg?: string };
    } catch {
      continue;
    }
    if (!entry.time || !entry.msg) continue;
    const at = Date.parse(entry.time) - spawnedAtMs;
    if (last && last.msg === entry.msg) {
      last.count++;
      last.lastAt = at;
      continue;
    }
    flush();
    last = { msg: entry.msg, first: at, lastAt: at, count: 1 };
  }
  flush();
  return out;
}
