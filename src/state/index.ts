/** The durable store's public face; store.ts tells what it is for. */
export type { ClaimOutcome } from '../pipeline/ports.js';
export {
  ACCEPTED_DATABASE_URLS,
  DEFAULT_DATABASE_URL,
  DatabaseUrlError,
  displayDatabaseUrl,
  parseDatabaseUrl,
  type DatabaseTarget,
  type Engine,
  type ParsedDatabaseUrl,
} from './engines/databaseUrl.js';
export { StoreClosed, StoreError } from './errors.js';
export type { Landing, ParkRequest, SentChangeset } from './schema/schema.js';
export type { ClaimCounts, RepositoryStatus, StoreStatus } from './status.js';
export { openStore } from './engines/openStore.js';
export { DEFAULT_LEASE_SECONDS, type Store, type StoreOptions } from './store.js';
