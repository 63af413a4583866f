import type { Logger } from './log.js';

/**
 * Progress of a long pass (a first import fetches and commits thousands): counts
 * per step, a rate and an ETA for the step under way. On a terminal, one line
 * redrawn in place; in the logs, a `progress` event every few seconds, none for
 * a pass shorter than that. Created by the caller and passed in: no module state.
 */
export interface Progress {
  /** `done` of `total` for a step ('fetched', 'committed'); the latest call names the step under way. */
  update(step: string, done: number, total: number): void;
  /** The pass is over: clears the terminal line. */
  end(): void;
}

export interface ProgressOptions {
  log: Logger;
  /** A terminal to draw the line on (stderr when it is a TTY); none: log events only. */
  tty?: { write(text: string): unknown } | undefined;
  /** Between log events [5000]. */
  logEveryMs?: number;
  /** Between redraws of the terminal line [250]. */
  drawEveryMs?: number;
  now?: () => number;
}

interface Step {
  done: number;
  total: number;
  startedAt: number;
}

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const logEvery = options.logEveryMs ?? 5000;
  const drawEvery = options.drawEveryMs ?? 250;
  const steps = new Map<string, Step>();
  let lastLog = now();
  let lastDraw = 0;
  let drawn = false;

  const rateOf = (step: Step, at: number) => {
    const seconds = (at - step.startedAt) / 1000;
    return seconds > 0 ? step.done / seconds : 0;
  };

  return {
    update(name, done, total) {
      const at = now();
      const step = steps.get(name) ?? { done: 0, total, startedAt: at };
      step.done = done;
      step.total = total;
      steps.set(name, step);
      const rate = rateOf(step, at);
      const eta = rate > 0 ? Math.max(0, (step.total - step.done) / rate) : undefined;
      if (at - lastLog >= logEvery) {
        lastLog = at;
        const counts = Object.fromEntries([...steps].map(([key, value]) => [key, value.done]));
        options.log.info({ step: name, done, total, ...counts, ratePerSecond: Math.round(rate), ...(eta === undefined ? {} : { etaSeconds: Math.round(eta) }) }, 'progress');
      }
      if (options.tty && (at - lastDraw >= drawEvery || done === total)) {
        lastDraw = at;
        drawn = true;
        const parts = [...steps].map(([key, value]) => `${key} ${value.done.toLocaleString('en-GB')}/${value.total.toLocaleString('en-GB')}`);
        const tail = rate > 0 ? ` · ${Math.round(rate).toLocaleString('en-GB')}/s${eta === undefined ? '' : ` · ETA ${formatSeconds(eta)}`}` : '';
        // Cursor back to the start: a log line written meanwhile overwrites it instead of trailing it.
        options.tty.write(`\r\u001b[K${parts.join(' · ')}${tail}\r`);
      }
    },
    end() {
      if (options.tty && drawn) options.tty.write('\r\u001b[K');
      drawn = false;
    },
  };
}

function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
