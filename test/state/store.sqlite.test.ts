import { defineStoreSuite } from './suite/index.js';
import { sqliteHarness } from './support/sqliteHarness.js';

defineStoreSuite(sqliteHarness);
