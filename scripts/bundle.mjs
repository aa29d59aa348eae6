/**
 * Bundles each command, src/cli/<command>/main.ts, into one file, dist/bin/<command>.js:
 * starting a command then reads one file, not hundreds of modules (docs/benchmarks.md).
 *
 * - better-sqlite3 stays in node_modules: a native addon cannot be bundled. pg-native is pg's
 *   optional native binding, which this service never installs.
 * - RxJS comes from its ES-module build. Its package's `node` condition names the CommonJS
 *   build, which brings every operator (330 KB) where the commands use a few (33 KB once
 *   tree-shaken): `backfill-pushlog --help` runs 12% fewer instructions without them.
 * - An ES-module bundle has no `require`; the banner gives it one for the CommonJS packages
 *   bundled inside that load Node's own modules with it.
 */
import { build } from 'esbuild';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Wherever npm put RxJS: its package.json is exported, its ES-module entry is not.
const rxjsRoot = dirname(createRequire(import.meta.url).resolve('rxjs/package.json'));

const commands = readdirSync('src/cli', { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'shared')
  .map((entry) => `src/cli/${entry.name}/main.ts`);

await build({
  entryPoints: commands,
  outdir: 'dist/bin',
  entryNames: '[dir]',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: ['better-sqlite3', 'pg-native'],
  alias: { rxjs: join(rxjsRoot, 'dist/esm/index.js') },
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// npm links each of package.json's bins; each must be executable.
const { bin } = JSON.parse(readFileSync('package.json', 'utf8'));
for (const file of Object.values(bin)) chmodSync(file, 0o755);
