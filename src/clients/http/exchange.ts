import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { DeadlineExceeded, isTransient, PipelineError, RetryLater } from '../../errors.js';
import { log } from '../../log.js';
import type { HostLimits } from '../hostLimits.js';
import { eachChunk, readExcerpt, readText } from './body.js';
import { asksToWait, retryAfterMs } from './retryAfter.js';
import { Cancellation, transport, type Agents } from './transport.js';
import type { AnswerHandler, AnswerHead, FinalAnswer, HttpRequest } from './types.js';

/**
 * A wait an answer asked for in the client's own terms (HttpRequest.holdWhen): not retried
 * by Http, whatever its length, since the client that asked for it waits it out itself.
 */
export class HostWait extends RetryLater {}

export const TRANSIENT_STATUS = (status: number): boolean => status === 429 || status >= 500;

/** A network failure in a word or two: its code (ECONNREFUSED, ECONNRESET), else its message. */
const failureReason = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const { code } = error as Error & { code?: unknown };
  return typeof code === 'string' ? code : error.message;
};

/** What one attempt needs of its Http. */
export interface AttemptContext {
  /** The keep-alive connection pools this Http's requests go through. */
  readonly agents: Agents;
  readonly userAgent: string;
  readonly limits: HostLimits;
  readonly deadlineMs: number;
  readonly streamDeadlineMs: number;
  readonly maxAnswerBytes: number;
}

const headOf = (response: IncomingMessage): AnswerHead => ({
  status: response.statusCode ?? 0,
  header: (name) => {
    const value = response.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  },
});

/** The user agent, and a JSON body's type; the request's own headers win. */
const headersOf = (request: HttpRequest, userAgent: string): Record<string, string> => ({
  'user-agent': userAgent,
  ...(request.data === undefined ? {} : { 'content-type': 'application/json' }),
  ...request.headers,
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
  cancellation: Cancellation,
  handle: AnswerHandler<T>,
  received: (body: Readable, status: number) => void,
): Promise<T> => {
  const started = Date.now();
  let response: IncomingMessage;
  try {
    response = await transport(request.url, context.agents, {
      method: request.method ?? 'GET',
      headers: headersOf(request, context.userAgent),
      ...(request.data === undefined ? {} : { body: JSON.stringify(request.data) }),
      cancellation,
    });
  } catch (error) {
    throw new PipelineError(`${name} failed: ${failureReason(error)}`, 'transient', {
      cause: error,
    });
  }
  const body: Readable = response;
  // A body dropped unread (destroyed) may report an error that no reader waits for; the
  // readers (body.ts) listen for the errors that matter to them.
  body.on('error', () => undefined);
  const head = headOf(response);
  const { status } = head;
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
  const cancellation = new Cancellation();
  let body: Readable | undefined;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineExceeded(name, deadlineMs);
      // Cancelling covers the time before the answer's headers; after, Node leaves the
      // body to us, and destroying it closes the socket.
      cancellation.cancel(error);
      body?.destroy(error);
      reject(error);
    }, deadlineMs);
  });
  const exchanged = exchange(context, request, name, cancellation, handle, (b, status) => {
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
