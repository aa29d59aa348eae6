import { defineStoreSuite } from './suite/index.js';
import { sqliteHarness } from './sqliteHarness.js';

defineStoreSuite(sqliteHarness);
