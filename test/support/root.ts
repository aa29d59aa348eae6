import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// Tests run from their transpiled copy under dist/tests/ (`npm run build:tests`), not from
// test/, so a path written relative to a test file would point into that copy. Everything a
// test reads or runs from the project (fixtures, scripts, deploy files, the built commands) is
// found from here instead.
const twoUp = fileURLToPath(new URL('../../', import.meta.url));
const TRANSPILED = `${sep}dist${sep}tests${sep}`;

/** The project's own directory, with a trailing separator, wherever the test runs from. */
export const ROOT = twoUp.endsWith(TRANSPILED) ? resolve(twoUp, '../..') + sep : twoUp;
