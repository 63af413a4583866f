// `packuilon migrate`: import a seed /etc/packer-utils into an image repo.
export { migrate, type MigrateOptions } from './migrate.js';
export { formatReport, type MigrateReport, type Trigger, type WrittenFile } from './report.js';
export { SETTING_RULES } from './settings.js';
