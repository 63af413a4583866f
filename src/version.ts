// Kept in step with package.json by scripts/bundle.mjs's check.
export const VERSION = '0.1.0';
