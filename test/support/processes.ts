import { readdirSync, readFileSync } from 'node:fs';

// What is still running, read from /proc. A zombie counts as gone: this
// machine's init reaps orphans late, and a zombie holds no resources but its PID.

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  command: string;
}

function stat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command is in parentheses and may itself hold spaces or parentheses.
  const close = text.lastIndexOf(')');
  const [state, ppid, pgid] = text.slice(close + 2).split(' ');
  return { pid, state: state!, ppid: Number(ppid), pgid: Number(pgid), command: text.slice(text.indexOf('(') + 1, close) };
}

export function isAlive(pid: number): boolean {
  const found = stat(pid);
  return found !== undefined && found.state !== 'Z' && found.state !== 'X';
}

/** The live processes of a process group. */
export function processesInGroup(pgid: number): ProcStat[] {
  const found: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const process = stat(Number(entry));
    if (process && process.pgid === pgid && process.state !== 'Z' && process.state !== 'X') found.push(process);
  }
  return found;
}

/** Wait until `check` holds, up to `ms`; returns whether it did. */
export async function waitFor(check: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}
