/**
 * Pulse's naming rules: a user may configure and write only `queue/<user>/...` and
 * `exchange/<user>/...` (the default exchange is not writable), and read those and any
 * `exchange/...`. So parked messages go to a queue of the user's own through an exchange of
 * the user's own, and so do retries. Declaring a queue with a dead-letter exchange also needs
 * write permission on that exchange: the retry exchange is the user's own too.
 */

/** The wait before each retry: 30 s, 2 min, 10 min, 30 min, then every hour (the last repeats). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  30_000, 120_000, 600_000, 1_800_000, 3_600_000,
];

/** A delay's short name, its routing key and queue suffix: `30s`, `2m`, `1h`; `300ms` in tests. */
export const stepName = (delayMs: number): string => {
  if (delayMs % 3_600_000 === 0) return `${delayMs / 3_600_000}h`;
  if (delayMs % 60_000 === 0) return `${delayMs / 60_000}m`;
  if (delayMs % 1_000 === 0) return `${delayMs / 1_000}s`;
  return `${delayMs}ms`;
};

/** One delay: a queue whose messages expire after `delayMs` and go back to the main queue. */
export interface RetryStep {
  /** The routing key on the delay exchange, e.g. `30s`. */
  readonly name: string;
  readonly delayMs: number;
  readonly queue: string;
}

/**
 * Every name the worker uses. Retries wait in one queue per delay, because RabbitMQ expires
 * messages only at the head of a queue: a 30 s retry behind a 1 h one would wait an hour.
 */
export const pulseNames = (
  user: string,
  queueName: string,
  retryDelaysMs: readonly number[] = DEFAULT_RETRY_DELAYS_MS,
) => {
  const steps = retryDelaysMs.map((delayMs): RetryStep => {
    if (!Number.isSafeInteger(delayMs) || delayMs <= 0) {
      throw new RangeError(`a retry delay must be a positive number of milliseconds: ${delayMs}`);
    }
    const name = stepName(delayMs);
    return { name, delayMs, queue: `queue/${user}/${queueName}.delay-${name}` };
  });
  if (steps.length === 0) throw new RangeError('at least one retry delay is needed');
  if (new Set(steps.map((s) => s.name)).size !== steps.length) {
    throw new RangeError(`the retry delays must differ: ${retryDelaysMs.join(', ')}`);
  }
  return {
    queue: `queue/${user}/${queueName}`,
    failedQueue: `queue/${user}/${queueName}.failed`,
    failedExchange: `exchange/${user}/${queueName}.failed`,
    /** Direct: a message to retry is published here, its step's name as routing key. */
    delayExchange: `exchange/${user}/${queueName}.delay`,
    /** Fanout, bound to the main queue: the delay queues' dead-letter exchange. */
    retryExchange: `exchange/${user}/${queueName}.retry`,
    /** In order: a message's n-th retry waits in the n-th (the last one repeats). */
    retrySteps: steps as readonly RetryStep[],
  };
};
export type PulseNames = ReturnType<typeof pulseNames>;
