// One esbuild bundle per command chunk: start-up loads only what the command
// imports (a process that publishes ten messages must not parse git's or
// migrate's code). tsc's dist/ stays the library build.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const source = readFileSync(new URL('../src/version.ts', import.meta.url), 'utf8');
if (!source.includes(`'${version}'`)) throw new Error(`src/version.ts does not say ${version} (package.json)`);

// Chunk names carry content hashes: clear old ones so dist/ holds one build.
rmSync(new URL('../dist/bundle/', import.meta.url), { recursive: true, force: true });

// zod re-exports every locale as a namespace (`locales`); one escaping namespace import
// keeps them all, ~70 modules (350 KB) parsed at every start. Only English is used
// (src/shared/zod.ts): the namespace is given English alone.
const englishOnly = {
  name: 'zod-english-only',
  setup(context) {
    context.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/') ? { path: 'zod-locales-en', namespace: 'zod-english-only' } : undefined);
    context.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: new URL('..', import.meta.url).pathname,
      loader: 'js',
    }));
  },
};

await build({
  plugins: [englishOnly],
  entryPoints: { packuilon: 'src/cli/run.ts' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: false,
  sourcemap: 'linked',
  logLevel: 'warning',
  // amqplib and simple-git reach for CommonJS `require`; give the ESM bundle one.
  banner: { js: "import { createRequire as __packuilonRequire } from 'node:module'; const require = __packuilonRequire(import.meta.url);" },
});
