// `npm run test:unit`: the fast loop, in-process tests that need no service and no built
// command (test/suites.js); only the transpiled copy of the tests (build:tests).
import all from './ava.config.js';
import { unit } from './test/suites.js';

export default { ...all, files: unit };
