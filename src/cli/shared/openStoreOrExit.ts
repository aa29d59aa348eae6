import type { StoreSettings } from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import { log } from '../../log.js';
import { displayDatabaseUrl, openStore, parseDatabaseUrl, type Store } from '../../state/index.js';
import { EXIT, fail } from './program.js';

/**
 * Opens the durable store before any message is taken or request made: exit 2 for a
 * DATABASE_URL that cannot be read, 1 for a database that cannot be reached or migrated.
 */
export const openStoreOrExit = async (name: string, settings: StoreSettings): Promise<Store> => {
  const parsed = parseDatabaseUrl(settings.DATABASE_URL);
  if (!parsed.ok) return fail(name, parsed.error.message, EXIT.usage);
  try {
    const store = await openStore(parsed.value, { leaseSeconds: settings.CLAIM_LEASE_SECONDS });
    log.debug('store open', { database: displayDatabaseUrl(parsed.value) });
    return store;
  } catch (error) {
    return fail(name, namingDatabaseUrl(describeError(error)), EXIT.failed);
  }
};

/** A store error as a fatal line: the setting to check named, once. */
export const namingDatabaseUrl = (message: string): string =>
  message.includes('DATABASE_URL') ? message : `${message}; check DATABASE_URL`;
