import { defineStoreSuite } from './suite/index.js';
import { postgresHarness } from './support/postgresHarness.js';

defineStoreSuite(postgresHarness);
