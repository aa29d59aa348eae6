/**
 * The durable store: what keeps the service from sending a changeset's ping twice, across
 * restarts, processes and backfills repeated weeks later, and where each repository's
 * worker resumes.
 *
 * DATABASE_URL picks the engine (databaseUrl.ts). SQLite serves one process (sqlite.ts);
 * a fleet of workers must share a PostgreSQL database. All times are epoch milliseconds from
 * the store's clock; every number it answers is a JS number (schema.ts says how).
 */
import type { Ledger } from '../pipeline/ports.js';
import type { StoreError } from './errors.js';
import type { ParkRequest } from './schema/schema.js';
import type { StoreStatus } from './status.js';

export const DEFAULT_LEASE_SECONDS = 60;

export interface StoreOptions {
  /** CLAIM_LEASE_SECONDS: how long a claim lives without renewal (renewed every third of it). */
  leaseSeconds?: number;
  /** The store's clock, epoch milliseconds, taken as it is; tests inject their own. */
  now?: () => number;
  /**
   * Without `now`: the host's clock (default Date.now), which on PostgreSQL is corrected to the
   * database's time (databaseClock.ts); tests skew it.
   */
  hostClock?: () => number;
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

/** The pipeline's ledger (ports.ts), and what the worker and an operator's commands need besides. */
export interface Store extends Ledger {
  /** Names this store's claims. */
  readonly owner: string;
  /** The store's clock, epoch ms: the database's on PostgreSQL (databaseClock.ts). */
  now(): number;
  /** Drops all our claims; answers how many. */
  releaseAll(): Promise<number>;
  /** Extends all our claims by a lease from now (the timer does this); answers how many. */
  renewClaims(): Promise<number>;
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
  /** A git branch's watermark (gitWatermarks.ts): the last commit settled with all before it. */
  gitWatermark(repository: string): Promise<string | undefined>;
  /** Creates the branch's git watermark at `sha` unless it has one (the worker only). */
  startGitWatermark(repository: string, sha: string): Promise<void>;
  /** `base...head` settled: moves the watermark from `base` to `head`; answers where it is. */
  gitPushSettled(repository: string, base: string, head: string): Promise<string | undefined>;
  gitRepositoriesWithWatermark(): Promise<string[]>;
}
