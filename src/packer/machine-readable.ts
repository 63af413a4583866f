import { MachineReadableFields } from './schema.js';

// Packer's -machine-readable lines: `timestamp,target,type,data...`. In data,
// Packer writes a comma as `%!(PACKER_COMMA)` and newlines as the two
// characters `\n` (`\r` likewise), so a plain split on commas is exact.

export interface MachineReadableLine {
  timestamp: number;
  /** The build name, or '' for UI lines. */
  target: string;
  type: string;
  data: string[];
}

export interface PackerArtifact {
  target: string;
  index: number;
  builderId?: string;
  id?: string;
  string?: string;
  files: string[];
}

function unescape(field: string): string {
  return field.replaceAll('%!(PACKER_COMMA)', ',').replaceAll('\\n', '\n').replaceAll('\\r', '\r');
}

/** One line, or undefined when it is not machine-readable (a plugin's crash text, say). */
export function parseMachineReadableLine(line: string): MachineReadableLine | undefined {
  const parsed = MachineReadableFields.safeParse(line.split(',').map(unescape));
  if (!parsed.success) return undefined;
  const [timestamp, target, type, ...data] = parsed.data;
  return { timestamp: Number(timestamp), target, type, data };
}

/** What a person reads in the job log for a parsed line. */
export function describeLine(line: MachineReadableLine): string {
  if (line.type === 'ui') return (line.data[1] ?? '').replace(/^\n+/, '');
  return [line.target, line.type, ...line.data].filter(Boolean).join(' ');
}

/** Folds the lines of one `packer build` into its artifacts and error messages. */
export class BuildOutput {
  readonly artifacts: PackerArtifact[] = [];
  /** `target,error,…` lines: each failed build's own error. */
  readonly errors: string[] = [];
  /** `ui,error` lines: Packer's narrative of the failure. */
  readonly uiErrors: string[] = [];
  private readonly open = new Map<string, PackerArtifact>();

  add(line: MachineReadableLine): void {
    if (line.type === 'error') {
      this.errors.push(`${line.target ? `${line.target}: ` : ''}${line.data.join(' ')}`);
      return;
    }
    if (line.type === 'ui' && line.data[0] === 'error') {
      this.uiErrors.push((line.data[1] ?? '').trim());
      return;
    }
    if (line.type !== 'artifact') return;
    const [indexText, field, ...values] = line.data;
    const index = Number(indexText);
    if (!Number.isInteger(index) || !field) return;
    const slot = `${line.target}\0${index}`;
    let artifact = this.open.get(slot);
    if (!artifact) {
      artifact = { target: line.target, index, files: [] };
      this.open.set(slot, artifact);
      this.artifacts.push(artifact);
    }
    if (field === 'builder-id') artifact.builderId = values[0];
    else if (field === 'id') artifact.id = values.join(',');
    else if (field === 'string') artifact.string = values.join(',');
    else if (field === 'file') artifact.files.push(values.slice(1).join(','));
  }

  /** The last few error messages, each on one line: the builds' own errors, else Packer's UI errors. */
  lastErrors(count = 3): string[] {
    const pick = this.errors.length ? this.errors : this.uiErrors;
    const lines = [...new Set(pick.map((error) => error.replace(/\s*\n\s*/g, ' ').trim()).filter(Boolean))];
    return lines.slice(-count).map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line));
  }

  /** The artifact of the first build: the builder's own comes first in Packer's list. */
  firstArtifact(): PackerArtifact | undefined {
    return this.artifacts[0];
  }
}
