import { defineStoreSuite } from './suite/index.js';
import { postgresHarness } from './postgresHarness.js';

defineStoreSuite(postgresHarness);
