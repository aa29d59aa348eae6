import type { ConsumeMessage } from 'amqplib';
import type { PulseSettings } from '../../../src/codecs/settings.js';
import type { JobOutcome } from '../../../src/pipeline/job.js';
import type { GitHubPushReader } from '../messages/githubMessage.js';

export interface PulseOptions {
  readonly settings: PulseSettings;
  /** Hosts a message's `repo_url` may name. */
  readonly allowedHosts: readonly string[];
  /** Reading GitHub pushes (bound when GITHUB_PUSH_ROUTING_KEY is set): githubMessage.ts. */
  readonly github?: Omit<GitHubPushReader, 'allowedHosts'>;
  readonly prefetch: number;
  /** `failed` replays the failed queue (--replay-failed). */
  readonly queue?: 'main' | 'failed';
  /** `--no-send`: messages are never acked; they return to the queue when the worker stops. */
  readonly hold?: boolean;
  readonly heartbeatSeconds?: number;
  readonly reconnectSeconds?: number;
  /** How long a deferred message waits before it goes back to the queue (default 2 s). */
  readonly deferMs?: number;
  /**
   * The wait before each retry, one delay queue each (default 30 s, 2 min, 10 min, 30 min,
   * 1 h; the last repeats). A queue's TTL cannot change once declared (PRECONDITION_FAILED):
   * other delays need other queue names, or the delay queues deleted first.
   */
  readonly retryDelaysMs?: readonly number[];
  /** How long after its first failure a message is still retried (default RETRY_MAX_HOURS). */
  readonly retryMaxAgeMs?: number;
  /**
   * False when the job failed while one of its hosts is known to be down (a circuit breaker
   * is open): the message then goes back to the queue after the defer pause, not an attempt.
   */
  readonly hostsUp?: (result: JobOutcome) => boolean;
  /** For tests only: runs between a message's park (or retry) and its ack. */
  readonly testHooks?: {
    readonly afterPark?: () => Promise<void>;
    readonly afterRetry?: () => Promise<void>;
    /** Runs in the consume callback before the body is read: a throw here is any throw there. */
    readonly beforeRead?: (message: ConsumeMessage) => void;
  };
}
