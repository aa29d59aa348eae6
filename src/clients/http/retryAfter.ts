/**
 * The longest wait a Retry-After is taken at: past it a host that named a wrong date (a year
 * ahead) would be asked nothing for that long. An hour is longer than any real rate limit or
 * maintenance window it should name, and short enough for a mistake to heal by itself.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** Only these two say, with Retry-After, when to come back (RFC 9110, 10.2.3). */
export const asksToWait = (status: number): boolean => status === 429 || status === 503;

/**
 * How long a Retry-After header asks to wait, in ms from `now`: delta-seconds (`120`) or an
 * HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`), at most `maxMs`; a date in the past is no
 * wait (0). Undefined when absent or unreadable: then the caller's own backoff applies.
 */
export const retryAfterMs = (
  header: string | readonly string[] | undefined,
  now: number,
  maxMs = MAX_RETRY_AFTER_MS,
): number | undefined => {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    // Date.parse also reads ISO strings and bare numbers; only an IMF-fixdate-like text counts.
    const at = /[a-z]{3}/i.test(value) ? Date.parse(value) : NaN;
    if (!Number.isFinite(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), maxMs);
};
