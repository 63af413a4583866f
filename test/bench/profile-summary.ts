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
  /** Per phase marker (innermost marker function on the sampled stack): CPU ms and first/last sample, ms from profile start. */
  phases: { phase: string; cpuMs: number; firstMs: number; lastMs: number }[];
  /** Self time by bucket: (idle) = waiting on I/O or child processes, (garbage collector), a module, … */
  byModule: { name: string; ms: number }[];
  topFunctions: { name: string; where: string; ms: number }[];
}

/** Module a frame belongs to: a src/ file (from the tsc output under dist/), a dependency, node internals. */
function moduleOf(url: string, root: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:internal/')) return `node:internal/${url.slice('node:internal/'.length).split('/').slice(0, 2).join('/').replace(/\.js$/, '')}`;
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
  const dist = rel.lastIndexOf('dist/');
  if (dist >= 0 && rel.startsWith('bundle/', dist + 5)) return `bundle:${rel.slice(dist + 'dist/bundle/'.length)}`;
  if (dist >= 0) return `src/${rel.slice(dist + 'dist/'.length).replace(/\.js$/, '.ts')}`;
  return rel;
}

/**
 * Phase markers, innermost wins: a sample whose stack holds one of these
 * functions counts for that phase. Async functions show on the stack when
 * resumed after an await, so first/last sample bound the phase well enough.
 */
const PHASES: { phase: string; test: (frame: CpuNode['callFrame']) => boolean }[] = [
  { phase: 'module loading (ESM/CJS compile + link)', test: (f) => /^(compileSourceTextModule|compileForInternalLoader|wrapSafe|link|instantiate|_compile|ModuleJob|importModuleDynamically)$/.test(f.functionName) || /^node:internal\/modules\//.test(f.url) },
  { phase: 'config (loadConfig: yaml + zod)', test: (f) => f.functionName === 'loadConfig' },
  { phase: 'state read (readState)', test: (f) => f.functionName === 'readState' },
  { phase: 'index parse (parseProfileIndex)', test: (f) => f.functionName === 'parseProfileIndex' },
  { phase: 'profile downloads (http, sha256)', test: (f) => /^(readProfile|get|once|mapWithConcurrency|worker|sha256)$/.test(f.functionName) || /_http_|node:net|node:internal\/streams/.test(f.url) },
  { phase: 'scan (scanForChanges)', test: (f) => f.functionName === 'scanForChanges' || f.functionName === 'entriesToFetch' },
  { phase: 'resolve + render', test: (f) => /^(parseProfile|resolveImage|renderImage|renderManifest|stableJson|fillLegacyTemplate|renderLegacyTemplate|processProfiles)$/.test(f.functionName) || /\/(render|resolve)\//.test(f.url) },
  { phase: 'git (spawn, fast-import input)', test: (f) => /^(runGit|writeCommits|ensureCommits|listImageFiles|readBlobs|resolveRef|spawn|ChildProcess\.spawn)$/.test(f.functionName) || /\/repo\//.test(f.url) },
  { phase: 'amqp (connect, publish, confirms)', test: (f) => /^(createPublisher|publishChanges|confirmedSender|openConnection)$/.test(f.functionName) || /amqplib/.test(f.url) },
  { phase: 'state update (carryOverState)', test: (f) => f.functionName === 'carryOverState' || f.functionName === 'restorePrevious' },
  { phase: 'state write (writeState)', test: (f) => f.functionName === 'writeState' || f.functionName === 'writeFileAtomic' },
  { phase: 'logging (pino)', test: (f) => /pino|sonic-boom/.test(f.url) },
];

export function summariseCpuProfile(file: string, root: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const phaseOf = new Map<number, string>();
  const phaseFor = (id: number): string => {
    const known = phaseOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    let phase = '';
    if (node) {
      if (/^\((idle|program|garbage collector)\)$/.test(node.callFrame.functionName)) phase = node.callFrame.functionName;
      else {
        phase = PHASES.find((p) => p.test(node.callFrame))?.phase ?? '';
        const up = parent.get(id);
        if (!phase && up !== undefined) phase = phaseFor(up);
      }
    }
    phaseOf.set(id, phase || '(other)');
    return phase || '(other)';
  };
  const phases = new Map<string, { cpuMs: number; firstMs: number; lastMs: number }>();
  let clock = 0;
  profile.samples.forEach((id, i) => {
    clock += profile.timeDeltas[i] ?? 0;
    const name = phaseFor(id);
    const entry = phases.get(name) ?? { cpuMs: 0, firstMs: clock / 1000, lastMs: 0 };
    entry.cpuMs += (profile.timeDeltas[i + 1] ?? 0) / 1000;
    entry.lastMs = clock / 1000;
    phases.set(name, entry);
  });
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
    phases: [...phases].map(([phase, v]) => ({ phase, ...v })).sort((a, b) => a.firstMs - b.firstMs),
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
