// What `migrate` did and did not do; printed for people or as JSON for scripts.

export type Trigger = 'direct' | 'queue';

export interface WrittenFile {
  /** Relative to the target directory. */
  path: string;
  /** The seed file it came from. */
  from: string;
  /** `unchanged`: the target already held these exact bytes. */
  status: 'written' | 'unchanged';
}

export interface MigrateReport {
  from: string;
  into: string;
  trigger: Trigger;
  written: WrittenFile[];
  /** `section.KEY` → Packuilon config key. */
  mapped: { setting: string; to: string }[];
  /** Settings, entries and files left behind, each with why. Never a secret's value. */
  notMapped: { item: string; reason: string }[];
  /** Migrated, but worth a look. */
  warnings: string[];
  nextSteps: string[];
}

export function formatReport(report: MigrateReport): string {
  const lines = [`migrate: ${report.from} → ${report.into} (trigger: ${report.trigger})`];
  const section = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push(`${title}:`, ...items.map((item) => `  ${item}`));
  };
  section('written', report.written.map((file) => `${file.path} ← ${file.from}${file.status === 'unchanged' ? ' (unchanged)' : ''}`));
  section('mapped', report.mapped.map((entry) => `${entry.setting} → ${entry.to}`));
  section('not mapped', report.notMapped.map((entry) => `${entry.item}: ${entry.reason}`));
  section('warnings', report.warnings);
  section('next steps', report.nextSteps);
  return `${lines.join('\n')}\n`;
}
