import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isAlive, waitFor } from './processes.js';

export const RALLY_TASKS = new URL('../fixtures/rally/tasks/', import.meta.url).pathname;

/** An image repo with a packuilon.yaml, a rendered build file and a build record, as `ci build` leaves it. */
export function rallyRepo(key: string, options: { imageName?: string; imageId?: string; rally?: Record<string, unknown>; record?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'packuilon-rally-'));
  const imageName = options.imageName ?? `${key} AQ`;
  writeFileSync(join(dir, 'packuilon.yaml'), stringify({ rally: { task: `${RALLY_TASKS}pass.yaml`, timeout: 120, ...options.rally } }));
  mkdirSync(join(dir, 'images', key), { recursive: true });
  writeFileSync(join(dir, 'images', key, 'managed.json'), JSON.stringify({ builders: [{ type: 'openstack', image_name: `rendered ${imageName}` }] }));
  if (options.record !== false) {
    mkdirSync(join(dir, 'out', key), { recursive: true });
    const build = { file: 'managed.json', image_name: imageName, image_id: options.imageId ?? '11111111-2222-3333-4444-555555555555', artifact: null, exit_code: 0, log: `out/${key}/packer-managed.log` };
    writeFileSync(join(dir, 'out', key, 'build.json'), JSON.stringify({ key, commit: null, builds: [build] }));
  }
  return dir;
}

/** The PIDs Rally wrote into its own log lines (`2026-12-02 16:45:52.894 23492 INFO …`). */
export function rallyPids(logFile: string): number[] {
  const pids = new Set<number>();
  for (const match of readFileSync(logFile, 'utf8').matchAll(/\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\d+) [A-Z]+ /g)) pids.add(Number(match[1]));
  return [...pids];
}

/** Whether every Rally process of the run has gone. */
export async function allGone(pids: number[]): Promise<boolean> {
  return waitFor(() => pids.every((pid) => !isAlive(pid)), 10_000);
}

/** The live processes whose command line mentions `needle` (a run's folder: Rally gets `--config-file <dir>/rally.conf`). */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Samples processesMentioning(needle) every 200 ms until stopped: every PID it saw. */
export function watchProcesses(needle: string): { stop(): number[] } {
  const seen = new Set<number>();
  const timer = setInterval(() => processesMentioning(needle).forEach((pid) => seen.add(pid)), 200);
  return {
    stop() {
      clearInterval(timer);
      return [...seen];
    },
  };
}
