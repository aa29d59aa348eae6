import * as t from 'io-ts';
import { decodeJsonWith } from '../../../src/codecs/decodeJson.js';
import { ChangegroupMessage } from '../../../src/codecs/pulseMessage.js';

/** The headers `Settler.park()` (settler.ts) puts on the copy it parks. */
export const PARKED_AT_HEADER = 'x-parked-at';
export const PARK_REASON_HEADER = 'x-park-reason';
export const ERROR_HEADER = 'x-error';

/** A message of the failed queue as it was read: its body and headers, untouched. */
export interface ParkedMessage {
  readonly content: Buffer;
  readonly headers: Readonly<Record<string, unknown>>;
}

/** What an operator needs to know of a parked message; `undefined`: not in the message. */
export interface ParkedSummary {
  /** When it was parked (ISO 8601, the worker's clock). */
  readonly parkedAt: string | undefined;
  /** The push ids its body names; undefined when the body is not a `changegroup.1` message. */
  readonly pushes: readonly number[] | undefined;
  readonly repository: string | undefined;
  /**
   * The park reason in one word (`undecodable`, `permanent`, `too_old`, `replay_failed`,
   * `main_queue_gone`).
   */
  readonly reason: string;
  /** What went wrong, as the worker wrote it (possibly several lines). */
  readonly error: string;
}

/**
 * The reason of a retry parked by the broker, not the worker: it expired from its delay queue
 * while the main queue was gone, and the retry exchange's alternate (the failed exchange)
 * took it (retry.ts).
 */
export const MAIN_QUEUE_GONE = 'main_queue_gone';

/** Dead-lettered once its delay was over: the broker's own headers say so. */
const expiredRetry = (headers: ParkedMessage['headers']): boolean =>
  text(headers, 'x-first-death-reason') === 'expired' && text(headers, ERROR_HEADER) !== undefined;

const readChangegroup = decodeJsonWith(ChangegroupMessage, 'changegroup.1 message');

/** A header's text, or undefined when it is missing or not text (a header we did not set). */
const text = (headers: ParkedMessage['headers'], name: string): string | undefined => {
  const value = headers[name];
  return t.string.is(value) && value !== '' ? value : undefined;
};

/**
 * Reads a parked message for a listing. Every message gets a summary, even one whose body or
 * headers do not read: it is listed all the same, its unknowns left undefined, and a body that
 * does not decode counts as `undecodable` when no park reason was recorded (copies parked
 * before the worker wrote one).
 */
export const summarizeParked = ({ content, headers }: ParkedMessage): ParkedSummary => {
  const body = readChangegroup(content);
  const data = body.ok ? body.value.payload.data : undefined;
  return {
    parkedAt: text(headers, PARKED_AT_HEADER),
    pushes: data?.pushlog_pushes.map((push) => push.pushid),
    repository: data?.repo_url,
    reason:
      text(headers, PARK_REASON_HEADER) ??
      (expiredRetry(headers) ? MAIN_QUEUE_GONE : body.ok ? 'unknown' : 'undecodable'),
    error: text(headers, ERROR_HEADER) ?? (body.ok ? '' : body.error.message),
  };
};
