import type { IBackoff, IBackoffFactory, IRetryBackoffContext } from 'cockatiel';
import { RetryLater } from '../errors.js';

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
