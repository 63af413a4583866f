// One esbuild bundle per command chunk: start-up loads only what the command
// imports (a process that publishes ten messages must not parse git's or
// migrate's code). tsc's dist/ stays the library build.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeSnapshot } from './snapshot.mjs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const source = readFileSync(new URL('../src/version.ts', import.meta.url), 'utf8');
if (!source.includes(`'${version}'`)) throw new Error(`src/version.ts does not say ${version} (package.json)`);

// Chunk names carry content hashes: clear old ones so dist/ holds one build.
rmSync(new URL('../dist/bundle/', import.meta.url), { recursive: true, force: true });
rmSync(new URL('../dist/snapshot/', import.meta.url), { recursive: true, force: true });

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

// What both builds (the ESM bundle, the snapshot's script) share.
const common = { bundle: true, platform: 'node', target: 'node20', minify: false, logLevel: 'warning' };

await build({
  ...common,
  plugins: [englishOnly],
  entryPoints: { packuilon: 'src/cli/run.ts' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  format: 'esm',
  sourcemap: 'linked',
  // amqplib and simple-git reach for CommonJS `require`; give the ESM bundle one.
  banner: { js: "import { createRequire as __packuilonRequire } from 'node:module'; const require = __packuilonRequire(import.meta.url);" },
});

// The start-up snapshot's script (scripts/snapshot.mjs): `detect`'s code as one CommonJS file,
// as `node --build-snapshot` takes it. import.meta.url (packageRoot) becomes this file's URL.
// amqplib loads node:tls when it is loaded, and a Node 20 snapshot cannot hold TLS's native
// state (the build crashes). In the snapshot's copy only, node:tls is loaded at the first
// tls.connect (amqps:// URLs) instead; the line is checked, so an amqplib that changes it fails here.
const amqplibTlsOnUse = {
  name: 'amqplib-tls-on-use',
  setup(context) {
    context.onLoad({ filter: /node_modules\/amqplib\/lib\/connect\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const line = "const tls = require('node:tls');";
      if (!source.includes(line)) throw new Error(`${args.path}: no \`${line}\` line to defer (amqplib changed): update scripts/bundle.mjs`);
      return { contents: source.replace(line, "const tls = { connect: (...args) => require('node:tls').connect(...args) };"), loader: 'js' };
    });
  },
};

// The snapshot holds `detect` alone (bin/packuilon starts every other command from the ESM
// bundle): every byte of it is deserialized at each start (14 MB with all commands, 10 MB with
// detect's alone), so another command's code there would only slow detect down.
const detectOnly = {
  name: 'snapshot-detect-only',
  setup(context) {
    context.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) =>
      args.importer.endsWith('/src/cli/main.ts') && args.path !== './commands/detect.js' ? { path: args.path, namespace: 'not-in-snapshot' } : undefined);
    context.onLoad({ filter: /.*/, namespace: 'not-in-snapshot' }, (args) => ({
      contents: `export async function run() { throw new Error('${args.path.replace(/^\.\/commands\/|\.js$/g, '')} is not in the start-up snapshot: run it with bin/packuilon or bin/packuilon.mjs'); }`,
      loader: 'js',
    }));
  },
};

await build({
  ...common,
  plugins: [englishOnly, amqplibTlsOnUse, detectOnly],
  entryPoints: { packuilon: 'src/cli/snapshot.ts' },
  // Whitespace and syntax only (names kept, for stack traces): the blob holds the source text,
  // and its deserialization at every start is a third smaller (10.3 MB → 7.4 MB, −4 ms here).
  minifyWhitespace: true,
  minifySyntax: true,
  outdir: 'dist/snapshot',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': '__packuilonMetaUrl' },
  banner: { js: "const __packuilonMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
makeSnapshot(fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, ''));
