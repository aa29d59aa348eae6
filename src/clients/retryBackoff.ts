import {
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  retry,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';
import { isTransient, RetryLater } from '../errors.js';
import { log } from '../log.js';
import { HostDown } from './breaker.js';
import { HostWait } from './http/exchange.js';

type Context = IRetryBackoffContext<unknown>;

const untilOf = (context: Context): number =>
  'error' in context.result && context.result.error instanceof RetryLater
    ? context.result.error.until
    : 0;

const honouring = (backoff: IBackoff<unknown>, context: Context): IBackoff<Context> => ({
  duration: Math.max(backoff.duration, untilOf(context) - Date.now()),
  next: (following) => honouring(backoff.next(following), following),
});

/**
 * A retry backoff for cockatiel's retry policy that never comes back sooner than a host
 * asked: each delay is `inner`'s, or the time left until the RetryLater the attempt failed
 * with, whichever is longer.
 */
export const honouringRetryAfter = (inner: IBackoffFactory<unknown>): IBackoffFactory<Context> => ({
  next: (context) => honouring(inner.next(context), context),
});

/**
 * Http's retries: transient failures, `attempts` tries in all, with exponential backoff and
 * full jitter from `backoffMs`, never sooner than a host asked. Not once the host is down (its
 * breaker refuses the next attempt anyway), not a wait the client owns (HostWait), nor when
 * the host asked for a longer wait than a request may spend (`maxWaitMs`).
 */
export const httpRetryPolicy = (options: {
  readonly attempts?: number | undefined;
  readonly backoffMs?: number | undefined;
  readonly maxWaitMs: number;
}): RetryPolicy => {
  const policy = retry(
    handleWhen(
      (error) =>
        isTransient(error) &&
        !(error instanceof HostDown) &&
        !(error instanceof HostWait) &&
        !(error instanceof RetryLater && error.until - Date.now() > options.maxWaitMs),
    ),
    {
      maxAttempts: (options.attempts ?? 4) - 1,
      backoff: honouringRetryAfter(
        new ExponentialBackoff({
          initialDelay: options.backoffMs ?? 500,
          maxDelay: 60_000,
          generator: fullJitterGenerator,
        }),
      ),
    },
  );
  policy.onRetry((retrying) =>
    log.debug('retrying', {
      delayMs: Math.round(retrying.delay),
      error: 'error' in retrying ? retrying.error : undefined,
    }),
  );
  return policy;
};
