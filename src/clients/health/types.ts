import type { DownReason } from './hostDown.js';

export interface HostHealthOptions {
  /** Consecutive failures of distinct requests (or the same 4xx) that take a host for down. */
  readonly failures?: number;
  /** How often a down host is probed. */
  readonly probeMs?: number;
  /**
   * What a request does when its host is down: `fail` at once with HostDown (the worker,
   * which pauses and hands its messages back), or `wait` until the host is back and try
   * again (the backfill).
   */
  readonly whileDown?: 'fail' | 'wait';
}

/**
 * A host's own cheap request, never a message's: it resolves with the status of its answer
 * and rejects when there was none (network, deadline) or it was 429 or 5xx.
 */
export interface Probe {
  readonly run: () => Promise<number>;
  /** What to check when the host refuses every request: `TMO_BASE_URL`, `BMO_API_URL`. */
  readonly setting: string;
}

/** A host went down or came back. `since`: when that happened. */
export interface HostTransition {
  readonly host: string;
  readonly up: boolean;
  readonly since: Date;
  /** Why it went down (`up: false`). */
  readonly reason?: DownReason;
  /** How long it was down (`up: true`). */
  readonly downForMs?: number;
}

export interface DownHost {
  readonly host: string;
  readonly since: Date;
  readonly reason: DownReason | undefined;
}
