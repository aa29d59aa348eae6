// `npm run test:unit`: the fast loop, in-process tests that need no service and no built
// command (test/suites.js); only the transpiled copy of the tests (build:tests).
// In worker threads rather than processes: each of its ~55 files then skips starting a Node
// process of its own, 4-6 s of the suite's wall on two cores (docs/benchmarks.md, sixth
// session). The whole suite gains nothing from it and keeps ava.config.js's processes.
import all from './ava.config.js';
import { unit } from './test/suites.js';

export default { ...all, files: unit, workerThreads: true };
