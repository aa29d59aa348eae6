// `npm test`: every test file. ava.unit.config.js narrows it to those that need no service.
// The tests are written in TypeScript under test/ but run from their JavaScript copy under
// dist/tests/ (`npm run build:tests`, esbuild, under a second): loading through a TypeScript
// loader cost about a second of CPU per test file. @ava/typescript maps each test/ path to
// its copy, so `npx ava test/log.test.ts` still names the source; ava runs each file with
// --enable-source-maps, so a failure points at the TypeScript line. build:tests copies
// package.json into dist/tests/ as well: the source imports it by a relative path.
export default {
  files: ['test/**/*.test.ts'],
  typescript: { rewritePaths: { 'test/': 'dist/tests/test/' }, compile: false },
  workerThreads: false,
  // Four test files at once on two cores: many tests spend their time waiting (timers, the
  // broker, child processes), so two at a time left the cores half idle (docs/benchmarks.md:
  // ava alone took 150 s at four; npm test, build included, 191 s at two).
  concurrency: 4,
  timeout: '3m',
};
