import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { log } from '../../src/log.js';
import type { PulseNames, RetryStep } from './connection/names.js';

/**
 * Delayed retries. A message whose job failed transiently is published, with publisher
 * confirms and `mandatory`, to the user's delay exchange with its step as routing key
 * (`30s`, `2m`, ...), then acked. It waits in that step's delay queue, whose queue-level
 * `x-message-ttl` is the delay, and expires into the retry exchange (the delay queues'
 * dead-letter exchange), which is bound to the main queue: the message comes back as it
 * left, with its attempts counted in headers. The queues are declared in topology.ts; the
 * copies are made in settler.ts. If the main queue is gone when a retry expires (Pulse deletes
 * a queue that grows too long), the retry exchange routes it nowhere: its alternate exchange,
 * the failed exchange, then parks it (reason `main_queue_gone`) rather than the broker
 * dropping it.
 */

/** How many attempts of the message failed so far (set on each retry: 1, 2, ...). */
export const ATTEMPT_HEADER = 'x-attempt';
/** When its first attempt failed (ISO 8601): the age RETRY_MAX_HOURS is measured from. */
export const FIRST_FAILURE_HEADER = 'x-first-failure';
/** Names one publish, so that a mandatory message the broker returns is recognised. */
export const PUBLISH_ID_HEADER = 'x-publish-id';

/** The broker's dead-lettering records and our publish ids: not carried over to a copy. */
const DROPPED_HEADERS = [
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  PUBLISH_ID_HEADER,
];

export interface RetryState {
  /** Failed attempts so far; 0 for a message never retried. */
  readonly attempts: number;
  readonly firstFailureAt: number | undefined;
}

type Headers = Record<string, unknown>;

/** The part of a delivery (a ConsumeMessage) the retry state is read from. */
export interface WithHeaders {
  readonly properties: { readonly headers?: unknown };
}

const headersOf = (message: WithHeaders): Headers =>
  (message.properties.headers as Headers | undefined) ?? {};

/** What a message's headers say of its earlier attempts; a value that does not read is none. */
export const retryStateOf = (message: WithHeaders): RetryState => {
  const headers = headersOf(message);
  const attempts = Number(headers[ATTEMPT_HEADER]);
  const first = headers[FIRST_FAILURE_HEADER];
  const firstFailureAt =
    typeof first === 'string' ? Date.parse(first) : typeof first === 'number' ? first : NaN;
  return {
    attempts: Number.isSafeInteger(attempts) && attempts > 0 ? attempts : 0,
    firstFailureAt: Number.isFinite(firstFailureAt) ? firstFailureAt : undefined,
  };
};

/** The delay of the n-th retry (n from 1): the n-th step, the last one once they run out. */
export const stepFor = (steps: readonly RetryStep[], attempt: number): RetryStep => {
  const step = steps[Math.min(Math.max(attempt, 1), steps.length) - 1];
  if (step === undefined) throw new RangeError('no retry step');
  return step;
};

/**
 * Where the message was first published. A message that came back from a delay queue or is
 * replayed from the failed queue arrives through one of our exchanges, with a routing key of
 * ours: its origin is in the headers we set.
 */
export const originOf = (
  message: ConsumeMessage,
  names: PulseNames,
): { routingKey: string; exchange: string } => {
  const { exchange, routingKey } = message.fields;
  const headers = headersOf(message);
  const ours = exchange === names.retryExchange || exchange === names.failedExchange;
  const savedKey = headers['x-routing-key'];
  if (ours && typeof savedKey === 'string') {
    const savedExchange = headers['x-exchange'];
    return {
      routingKey: savedKey,
      exchange: typeof savedExchange === 'string' ? savedExchange : '',
    };
  }
  return { routingKey, exchange };
};

/** The headers of a copy (parked or retried): the message's own, with its origin. */
export const copiedHeaders = (message: ConsumeMessage, names: PulseNames): Headers => {
  const headers = { ...headersOf(message) };
  for (const name of DROPPED_HEADERS) delete headers[name];
  const origin = originOf(message, names);
  return { ...headers, 'x-routing-key': origin.routingKey, 'x-exchange': origin.exchange };
};

/** The properties a copy keeps; the broker's own (delivery mode, expiration) are set anew. */
export const copiedProperties = (message: ConsumeMessage): Options.Publish => {
  const p = message.properties;
  const kept: Options.Publish = {
    contentType: p.contentType as string | undefined,
    contentEncoding: p.contentEncoding as string | undefined,
    correlationId: p.correlationId as string | undefined,
    messageId: p.messageId as string | undefined,
    timestamp: p.timestamp as number | undefined,
    type: p.type as string | undefined,
    appId: p.appId as string | undefined,
  };
  return Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined));
};

/** The retry exchange as topology.ts declares it: the failed exchange as its alternate. */
export const retryExchangeOptions = (names: PulseNames): Options.AssertExchange => ({
  durable: true,
  autoDelete: false,
  alternateExchange: names.failedExchange,
});

const onOwnChannel = async (
  connection: ChannelModel,
  use: (channel: Channel) => Promise<unknown>,
): Promise<void> => {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    await use(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
};

/**
 * Gives a retry exchange declared by an earlier version (without an alternate exchange) its
 * alternate: the broker refuses to change an exchange's arguments (PRECONDITION_FAILED), so it
 * is deleted and declared again at once; the queues' setup binds it again right after. Each
 * try on a channel of its own, since a refusal closes the channel.
 */
export const upgradeRetryExchange = async (
  connection: ChannelModel,
  names: PulseNames,
): Promise<void> => {
  const declare = (channel: Channel) =>
    channel.assertExchange(names.retryExchange, 'fanout', retryExchangeOptions(names));
  try {
    await onOwnChannel(connection, declare);
  } catch (error) {
    const refused = error instanceof Error && 'code' in error && error.code === 406;
    if (!refused) throw error;
    log.warn('the retry exchange has no alternate exchange yet: declaring it again with one', {
      exchange: names.retryExchange,
      alternate: names.failedExchange,
    });
    await onOwnChannel(connection, async (channel) => {
      await channel.deleteExchange(names.retryExchange);
      await declare(channel);
    });
  }
};
