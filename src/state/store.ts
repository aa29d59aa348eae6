/**
 * The durable store: what keeps the service from sending a changeset's ping twice, across
 * restarts, processes and backfills repeated weeks later, and where each repository's
 * worker resumes.
 *
 * DATABASE_URL picks the engine (databaseUrl.ts). SQLite serves one process (sqlite.ts);
 * a fleet of workers must share a PostgreSQL database. All times are epoch milliseconds from
 * the store's clock; every number it answers is a JS number (schema.ts says how).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { secretMasker } from '../redact.js';
import type { ClaimOptions, ClaimOutcome } from './claims.js';
import { connect } from './connection.js';
import {
  displayDatabaseUrl,
  parseDatabaseUrl,
  passwordOf,
  type DatabaseTarget,
} from './databaseUrl.js';
import { StoreError, reasonOf } from './errors.js';
import type { Landing, ParkRequest, SentChangeset } from './schema.js';
import { SqlStore } from './sqlStore.js';
import type { StoreStatus } from './status.js';

export const DEFAULT_LEASE_SECONDS = 60;

export interface StoreOptions {
  /** CLAIM_LEASE_SECONDS: how long a claim lives without renewal (renewed every third of it). */
  leaseSeconds?: number;
  /** The store's clock, epoch milliseconds; tests inject their own. */
  now?: () => number;
  /** This process's name on its claims; by default hostname-pid-random, new for every store. */
  owner?: string;
  /** A renewal failed (it is tried again at the next tick); by default ignored. */
  onRenewalError?: (error: StoreError) => void;
  /** SQLite: how long a write waits for another process's write lock. Default 5 s. */
  busyTimeoutMs?: number;
  /** PostgreSQL: connection attempt timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** PostgreSQL: statement (and lock wait) timeout. Default 30 s. */
  statementTimeoutMs?: number;
}

export interface Store {
  /** Names this store's claims. */
  readonly owner: string;
  /** Whether the landing (a changeset in a repository) is in the ledger: its ping was accepted. */
  isSent(landing: Landing): Promise<boolean>;
  /** Claims the landing for this store: `claimed`, or `sent` (ledger), or `held` (another). */
  claim(landing: Landing, options?: ClaimOptions): Promise<ClaimOutcome>;
  /** Whether this store still holds a live claim on it: asked just before sending. */
  holdsClaim(landing: Landing): Promise<boolean>;
  /** Puts it in the ledger (a landing already there keeps its row) and drops our claim, at once. */
  recordSent(sent: SentChangeset): Promise<void>;
  /** Drops our claim on it (sending failed); another process may claim it at once. */
  release(landing: Landing): Promise<void>;
  /** Drops all our claims; answers how many. */
  releaseAll(): Promise<number>;
  /** Extends all our claims by a lease from now (the timer does this); answers how many. */
  renewClaims(): Promise<number>;
  /** The worker saw this push: creates the watermark at the push before, if there is none. */
  startWatermark(repository: string, pushId: number): Promise<void>;
  /** Settles the push, moves an existing watermark over it; answers the watermark, if any. */
  pushSettled(repository: string, pushId: number): Promise<number | undefined>;
  /** The repository's watermark, if the worker ever processed it. */
  watermark(repository: string): Promise<number | undefined>;
  repositoriesWithWatermark(): Promise<string[]>;
  /** Hands a push (no node: it counts as settled) or a changeset to an operator; once. */
  park(parked: ParkRequest): Promise<void>;
  /** Parked pushes and changesets, by repository. */
  parkedCounts(): Promise<Record<string, number>>;
  /** Counts for an operator, relative to `now` (default: the store's clock). */
  status(now?: number): Promise<StoreStatus>;
  /** Stops renewing, releases our claims, closes the database. Rejects if releasing failed. */
  close(): Promise<void>;
  /**
   * Takes the named lease for this store, or renews it, for `ttlMs` from now: true if it is
   * ours now, false while another owner's has not run out. Not renewed by the claims' timer.
   */
  takeLease(name: string, ttlMs: number): Promise<boolean>;
  /** Gives the named lease up if this store holds it. */
  releaseLease(name: string): Promise<void>;
  /** The repository's settled pushes in `(after, upTo]`: under its watermark or settled above. */
  settledPushes(repository: string, after: number, upTo: number): Promise<number[]>;
}

/**
 * Connects and brings the schema up to date (safe with several processes starting at once).
 * Rejects with a StoreError naming the database (password masked) and its own reason; a URL
 * that does not parse rejects with its DatabaseUrlError.
 */
export const openStore = async (
  url: DatabaseTarget | string | undefined,
  options: StoreOptions = {},
): Promise<Store> => {
  let target: DatabaseTarget;
  if (typeof url === 'object') {
    target = url;
  } else {
    const parsed = parseDatabaseUrl(url);
    if (!parsed.ok) throw parsed.error;
    target = parsed.value;
  }
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!(leaseSeconds > 0))
    throw new RangeError(`the claim lease must be positive: ${leaseSeconds}`);
  const where = displayDatabaseUrl(target);
  const mask = secretMasker(passwordOf(target));
  const fail = (what: string, error: unknown) =>
    new StoreError(`${what} (${where}): ${mask(reasonOf(error))}`, { cause: error });
  const onRenewalError = options.onRenewalError ?? (() => undefined);
  try {
    const conn = await connect(target, {
      busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
      // Surfaces again, as the next statement's failure, if the database is really gone.
      onIdleError: () => undefined,
    });
    return new SqlStore({
      conn,
      owner: options.owner ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      now: options.now ?? Date.now,
      leaseMs: Math.round(leaseSeconds * 1000),
      fail,
      onRenewalError,
    });
  } catch (error) {
    throw fail('cannot open the store', error);
  }
};
