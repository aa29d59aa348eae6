import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import { DeadlineExceeded, isTransient, PipelineError, RetryLater } from '../../errors.js';
import { log } from '../../log.js';
import type { HostLimits } from '../hostLimits.js';
import { eachChunk, readExcerpt, readText } from './body.js';
import { asksToWait, retryAfterMs } from './retryAfter.js';
import type { AnswerHandler, AnswerHead, FinalAnswer, HttpRequest } from './types.js';

/**
 * A wait an answer asked for in the client's own terms (HttpRequest.holdWhen): not retried
 * by Http, whatever its length, since the client that asked for it waits it out itself.
 */
export class HostWait extends RetryLater {}

export const TRANSIENT_STATUS = (status: number): boolean => status === 429 || status >= 500;

/** What one attempt needs of its Http. */
export interface AttemptContext {
  readonly axios: AxiosInstance;
  readonly limits: HostLimits;
  readonly deadlineMs: number;
  readonly streamDeadlineMs: number;
  readonly maxAnswerBytes: number;
}

const headOf = (response: AxiosResponse<Readable>): AnswerHead => ({
  status: response.status,
  header: (name) => {
    const value: unknown = response.headers[name.toLowerCase()];
    if (Array.isArray(value)) return value.length > 0 ? String(value[0]) : undefined;
    return value === undefined || value === null ? undefined : String(value);
  },
});

/** The wait an answer asks for, if any: the client's reading first, then Retry-After. */
const waitAsked = (
  request: HttpRequest,
  head: AnswerHead,
  now: number,
): { until: number; why: string; own: boolean } | undefined => {
  const until = request.holdWhen?.(head);
  if (until !== undefined)
    return { until, why: `answered ${head.status}: rate limited`, own: true };
  if (!TRANSIENT_STATUS(head.status)) return undefined;
  const retryAfter = head.header('retry-after');
  const waitMs = asksToWait(head.status) ? retryAfterMs(retryAfter, now) : undefined;
  if (waitMs === undefined) return undefined;
  const why = `answered ${head.status} with Retry-After: ${retryAfter}`;
  return { until: now + waitMs, why, own: false };
};

const exchange = async <T>(
  context: AttemptContext,
  request: HttpRequest,
  name: string,
  signal: AbortSignal,
  handle: AnswerHandler<T>,
  received: (body: Readable, status: number) => void,
): Promise<T> => {
  const started = Date.now();
  let response: AxiosResponse<Readable>;
  try {
    response = await context.axios.request<Readable>({
      url: request.url,
      method: request.method ?? 'GET',
      data: request.data,
      headers: request.headers,
      signal,
    });
  } catch (error) {
    const reason = axios.isAxiosError(error) ? (error.code ?? error.message) : String(error);
    throw new PipelineError(`${name} failed: ${reason}`, 'transient', { cause: error });
  }
  const { status, data: body } = response;
  const head = headOf(response);
  received(body, status);
  log.debug('answered', { request: name, status, ms: Date.now() - started });
  const wait = waitAsked(request, head, Date.now());
  if (wait !== undefined) {
    body.destroy();
    // Every client's requests to the host wait for it, not only this one's retries.
    const host = new URL(request.url).host;
    context.limits.holdUntil(host, wait.until);
    throw new (wait.own ? HostWait : RetryLater)(name, host, wait.until, wait.why);
  }
  if (TRANSIENT_STATUS(status)) {
    body.destroy();
    throw new PipelineError(`${name} answered ${status}`, 'transient');
  }
  const maxBytes = context.maxAnswerBytes;
  return handle({
    ...head,
    request: name,
    maxBytes,
    each: (take) => eachChunk(body, take),
    text: () => readText(body, name, maxBytes),
    excerpt: () => readExcerpt(body),
  });
};

/** One attempt, raced against its deadline; when that passes, its socket is destroyed. */
export const attempt = async <T>(
  context: AttemptContext,
  request: HttpRequest,
  handle: AnswerHandler<T>,
  final: FinalAnswer,
): Promise<T> => {
  const name = `${request.method ?? 'GET'} ${request.url}`;
  const deadlineMs = request.streamed ? context.streamDeadlineMs : context.deadlineMs;
  const abort = new AbortController();
  let body: Readable | undefined;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineExceeded(name, deadlineMs);
      // Aborting covers the time before the answer's headers; after, axios leaves the
      // body to us, and destroying it closes the socket.
      abort.abort(error);
      body?.destroy(error);
      reject(error);
    }, deadlineMs);
  });
  const exchanged = exchange(context, request, name, abort.signal, handle, (b, status) => {
    body = b;
    if (!TRANSIENT_STATUS(status)) final.status = status;
  });
  // Whichever loses the race settles unobserved.
  exchanged.catch(() => undefined);
  expired.catch(() => undefined);
  try {
    return await Promise.race([exchanged, expired]);
  } catch (error) {
    // A 200 whose body would not do is no sign that the host is well (see HostBreaker.run).
    if (isTransient(error)) final.status = undefined;
    throw error;
  } finally {
    clearTimeout(timer);
    // An answer the handler left unread would otherwise hold its socket.
    if (body !== undefined && !body.readableEnded) body.destroy();
  }
};
