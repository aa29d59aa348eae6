import type { Observable } from 'rxjs';
import type { HostHealth } from '../clients/health.js';
import type { PipelineBounds, PipelineDeps } from '../pipeline/index.js';
import type { Settlement, SettlingJob } from '../pipeline/job.js';
import type { WorkerMetrics } from './metrics.js';
import type { ParkedPushes } from './parkedPush.js';
import type { PausableSource } from './pause.js';
import type { StoreLivenessOptions } from './storeLiveness.js';

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
  /** When the last message was delivered, or consuming began: for the idle timeout. */
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

/** How busy the live side is: a polled source's jobs keep behind live messages. */
export interface LiveLoad {
  /** Live messages taken and not yet settled. */
  inFlight(): number;
  /** True while consuming is paused for an outage: no polled job enters the pipeline either. */
  paused(): boolean;
}

/**
 * A source that polls (gap-fill, in streams/gapFill/): a job stream with a lifecycle. The
 * worker starts it once the queue is ready (never for a replay of parked messages), tells
 * it when the live load changes, and stops it with the same grace as the queue.
 */
export interface PolledSource {
  /** Jobs, each settling itself; completes once `stop()` has finished. */
  readonly jobs: Observable<SettlingJob>;
  start(load: LiveLoad): void;
  /** The live load changed: a poll waiting for room looks again. */
  wake(): void;
  /** Sees every live job or message as it is settled (a git push starts its watermark). */
  observe?(settlement: Settlement): void;
  stop(graceMs: number): Promise<void>;
}

export interface WorkerOptions {
  /**
   * The queue consumed (Pulse), if any: besides its jobs, the worker connects it, pauses it
   * for an outage, watches its depth and stops it.
   */
  readonly source?: QueueSource;
  /**
   * More streams of jobs, from any source: each job carries its own settle. Without a queue
   * source, the worker stops once every stream has ended and every job is settled.
   */
  readonly jobs?: readonly Observable<SettlingJob>[];
  /** With the hosts' health (createClients gives it), consuming pauses while one is down. */
  readonly deps: PipelineDeps & { readonly health?: HostHealth | undefined };
  readonly metrics: WorkerMetrics;
  readonly bounds?: PipelineBounds;
  /** Stop once no message arrived for this long and none is in flight (--timeout; a queue's). */
  readonly idleTimeoutMs?: number;
  /** How long `stop()` lets messages in flight finish; Heroku kills 30 s after SIGTERM. */
  readonly graceMs?: number;
  readonly depthCheckMs?: number;
  /**
   * Sources that poll (gap-fill), started with the queue and kept behind its live messages;
   * not started for a replay of parked messages.
   */
  readonly polled?: readonly PolledSource[];
  /** Where a parked push is recorded (the store), so that its watermark moves past it. */
  readonly parked?: ParkedPushes;
  /** How often, and within what deadline, the store is read to know it is up (storeLiveness.ts). */
  readonly storeLiveness?: Pick<StoreLivenessOptions, 'everyMs' | 'deadlineMs'>;
}

export interface WorkerStop {
  readonly reason: string;
  /** 0 for a clean stop, 1 when the worker could not go on. */
  readonly failed: boolean;
}
