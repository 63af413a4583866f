// The seed's config.ini, read the way Python's configparser read it: `KEY = value`
// or `KEY: value`, `#`/`;` comment lines, indented continuation lines, option
// names case-insensitive (we upper-case them), section names as written.

export interface IniEntry {
  section: string;
  key: string;
  value: string;
  line: number;
}

export interface IniProblem {
  line: number;
  text: string;
}

export interface IniFile {
  entries: IniEntry[];
  /** Lines that are neither a section, an option nor a comment. */
  problems: IniProblem[];
}

const SECTION = /^\[([^\]]+)\]\s*$/;
const OPTION = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/;

export function parseIni(text: string): IniFile {
  const entries: IniEntry[] = [];
  const problems: IniProblem[] = [];
  let section = '';
  let last: IniEntry | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) {
      if (trimmed === '') last = undefined;
      return;
    }
    if (/^\s/.test(raw) && last) {
      last.value = last.value ? `${last.value}\n${trimmed}` : trimmed;
      return;
    }
    const header = SECTION.exec(trimmed);
    if (header) {
      section = header[1]!.trim();
      last = undefined;
      return;
    }
    const option = OPTION.exec(trimmed);
    if (option && section) {
      last = { section, key: option[1]!.trim().toUpperCase(), value: option[2]!.trim(), line };
      entries.push(last);
      return;
    }
    // Never echo the line: it may be a password with a typo around it.
    problems.push({ line, text: section ? 'not KEY = value' : 'option before any [section]' });
    last = undefined;
  });
  return { entries, problems };
}

/** The value configparser would return: the last one of the section wins. */
export function iniValue(ini: IniFile, section: string, key: string): string | undefined {
  let value: string | undefined;
  for (const entry of ini.entries) if (entry.section === section && entry.key === key) value = entry.value;
  return value;
}
