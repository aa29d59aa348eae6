import type { Observable } from 'rxjs';
import type { Settlement, SettlingJob } from '../pipeline/job.js';
import type { PausableSource } from './pause.js';

/**
 * A queue the worker consumes, with a lifecycle of its own (Pulse, in streams/pulse/): what
 * the worker needs of it besides its jobs, to connect, pause for an outage, watch its depth,
 * time out when idle and stop. Described here so that the worker imports no source.
 */
export interface QueueSource extends PausableSource {
  /** Jobs, each settling itself (its message) by the outcome it is given. */
  readonly jobs: Observable<SettlingJob>;
  /** Every job or message, as it is settled; completes when the source stops. */
  readonly settlements: Observable<Settlement>;
  /** The queue consumed, and the one a replay of parked messages takes from. */
  readonly names: { readonly queue: string; readonly failedQueue: string };
  /** Counted for the last log line. */
  readonly counters: object;
  /** Jobs and messages taken and not yet settled. */
  readonly inFlight: number;
  /** When the last message was delivered: for the idle timeout. */
  readonly lastDeliveryAt: number;
  /** For a replay of parked messages: how many it takes; undefined otherwise. */
  readonly replayCount: number | undefined;
  /** Resolves once a replay has taken every message parked at its start. */
  readonly replayed: Promise<void>;
  ready(): Promise<void>;
  stop(graceMs: number): Promise<void>;
  consuming(): boolean;
  connected(): boolean;
  /** Messages ready and taken but not settled, or undefined when the broker does not say. */
  depth(): Promise<{ ready: number; unacked: number } | undefined>;
  /** Messages parked for an operator. */
  failedDepth(): Promise<number>;
}
