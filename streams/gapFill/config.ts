import { Counter, Gauge, type Registry } from 'prom-client';
import type { GapFillSettings, StoreSettings } from '../../src/codecs/settings.js';

/** The store lease that lets one worker of a fleet poll the pushlogs at a time. */
export const POLLER_LEASE = 'pushlog-poller';
/** A push tried by gap-fill this many polls and still unsettled is worth a warning. */
export const WARN_AFTER_POLLS = 3;

/**
 * What gap-fill needs of the durable store, declared here by its user: src/state's Store
 * is one. Watermarks are started and moved by the pipeline (recordPush.ts), never here.
 */
export interface GapFillStore {
  /** Every repository the worker ever processed a push of. */
  repositoriesWithWatermark(): Promise<string[]>;
  /** The highest push such that it and every one before it are settled. */
  watermark(repository: string): Promise<number | undefined>;
  /** The repository's settled pushes in `(after, upTo]`. */
  settledPushes(repository: string, after: number, upTo: number): Promise<number[]>;
  /** Takes or renews the named lease for `ttlMs`: true if it is ours now. */
  takeLease(name: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string): Promise<void>;
}

/** What the command decides: where the watermarks are, how often to poll, how long to wait. */
export interface GapFillConfig {
  readonly store: GapFillStore;
  /** PUSHLOG_POLL_SECONDS, in ms: the time between two polls (one more at start). */
  readonly pollMs: number;
  /** PUSHLOG_GRACE_SECONDS, in ms: how long a push is seen unsettled before gap-fill runs it. */
  readonly graceMs: number;
  /** Pushes per json-pushes request, as the backfill's default. */
  readonly pageSize?: number;
  /** How long the poller lease lasts unless renewed (renewed every third of it). */
  readonly leaseMs?: number;
  /** Most gap-fill jobs in the pipeline at once. */
  readonly maxJobs?: number;
  /** A gap-fill job enters the pipeline only while fewer live messages than this are in flight. */
  readonly liveBelow?: number;
}

/**
 * The gap-fill options a worker's settings give, or undefined when gap-fill is off: no store
 * (--no-send), a replay of parked messages, or PUSHLOG_POLL_SECONDS=0. The poller's lease
 * lasts as long as a claim's (CLAIM_LEASE_SECONDS), when the settings say.
 */
export const gapFillConfig = (
  settings: (GapFillSettings & Partial<Pick<StoreSettings, 'CLAIM_LEASE_SECONDS'>>) | undefined,
  store: GapFillStore | undefined,
  replay: boolean,
): GapFillConfig | undefined =>
  settings === undefined || store === undefined || replay || settings.PUSHLOG_POLL_SECONDS === 0
    ? undefined
    : {
        store,
        pollMs: settings.PUSHLOG_POLL_SECONDS * 1000,
        graceMs: settings.PUSHLOG_GRACE_SECONDS * 1000,
        ...(settings.CLAIM_LEASE_SECONDS === undefined
          ? {}
          : { leaseMs: settings.CLAIM_LEASE_SECONDS * 1000 }),
      };

/**
 * The gap-fill poller's metrics, in the worker's registry: pushes it settled from the pushlog,
 * and how far each repository's pushlog was ahead of its watermark at the last poll.
 */
export class GapFillMetrics {
  readonly gapFilled: Counter<'repository'>;
  readonly pushesBehind: Gauge<'repository'>;

  constructor(registry: Registry) {
    this.gapFilled = new Counter({
      name: 'commit_telemetry_gap_filled_pushes_total',
      help: 'Pushes settled from the pushlog by gap-fill (no live message settled them first)',
      labelNames: ['repository'] as const,
      registers: [registry],
    });
    this.pushesBehind = new Gauge({
      name: 'commit_telemetry_pushes_behind',
      help: "The pushlog's newest push minus the watermark, at the last poll",
      labelNames: ['repository'] as const,
      registers: [registry],
    });
  }
}
