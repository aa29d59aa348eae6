// `npm run test:unit`: the fast loop, in-process tests that need no service and no build
// (test/suites.js).
import all from './ava.config.js';
import { unit } from './test/suites.js';

export default { ...all, files: unit };
