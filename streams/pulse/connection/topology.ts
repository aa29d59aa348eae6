import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import type { PulseSettings } from '../../../src/codecs/settings.js';
import type { PulseNames } from './names.js';
import { retryExchangeOptions } from '../retry.js';

/** taskcluster-github's exchange, when settings built by hand do not name it. */
const GITHUB_PUSH_EXCHANGE = 'exchange/taskcluster-github/v1/push';

/** The GitHub push exchange and key the queue is bound to, or undefined: no key, no binding. */
export const githubBinding = (s: PulseSettings) =>
  s.GITHUB_PUSH_ROUTING_KEY === undefined
    ? undefined
    : {
        exchange: s.GITHUB_PUSH_EXCHANGE ?? GITHUB_PUSH_EXCHANGE,
        routingKey: s.GITHUB_PUSH_ROUTING_KEY,
      };

/**
 * Every queue and exchange of ours, and the bindings: on every (re)connect and resume, since
 * Pulse may have deleted any of them. The hgpush exchange is only checked (passively): it is
 * Pulse's, and one that does not exist is a setting to fix. With GITHUB_PUSH_ROUTING_KEY set,
 * the same queue is bound to taskcluster-github's push exchange too (checked the same way):
 * one queue, one worker, both forges.
 */
export const declareQueues = async (
  channel: Channel,
  s: PulseSettings,
  names: PulseNames,
): Promise<void> => {
  const { queue, failedQueue, failedExchange } = names;
  await channel.checkExchange(s.PULSE_EXCHANGE);
  await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
  await channel.bindQueue(queue, s.PULSE_EXCHANGE, s.PULSE_QUEUE_ROUTING_KEY);
  const github = githubBinding(s);
  if (github !== undefined) {
    await channel.checkExchange(github.exchange);
    await channel.bindQueue(queue, github.exchange, github.routingKey);
  }
  await channel.assertExchange(failedExchange, 'fanout', { durable: true, autoDelete: false });
  await channel.assertQueue(failedQueue, { durable: true, exclusive: false, autoDelete: false });
  await channel.bindQueue(failedQueue, failedExchange, '');
  await declareRetryQueues(channel, names);
};

/**
 * Declares the delay exchange and queues and the retry exchange, and binds the retry
 * exchange to the main queue (asserted before). A queue's `x-message-ttl` cannot change once
 * declared: the broker answers PRECONDITION_FAILED, so changing the delays means deleting the
 * delay queues first (they hold only messages waiting for their retry). See retry.ts.
 */
export const declareRetryQueues = async (channel: Channel, names: PulseNames): Promise<void> => {
  const durable = { durable: true, autoDelete: false } as const;
  await channel.assertExchange(names.delayExchange, 'direct', durable);
  await channel.assertExchange(names.retryExchange, 'fanout', retryExchangeOptions(names));
  await channel.bindQueue(names.queue, names.retryExchange, '');
  for (const step of names.retrySteps) {
    await channel.assertQueue(step.queue, {
      ...durable,
      exclusive: false,
      messageTtl: step.delayMs,
      deadLetterExchange: names.retryExchange,
    });
    await channel.bindQueue(step.queue, names.delayExchange, step.name);
  }
};

/** The broker's answer to a passive declare of a queue that does not exist. */
const isNotFound = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 404;

/**
 * A queue's depth by a passive declare (nothing is created); undefined when the queue does
 * not exist. The broker answers a missing queue with a 404 that closes the channel it came
 * on; any other refusal (which closes it too) rejects.
 */
export const queueDepth = (
  channel: Pick<Channel, 'checkQueue'>,
  name: string,
): Promise<number | undefined> =>
  channel.checkQueue(name).then(
    (queue) => queue.messageCount,
    (error: unknown) => (isNotFound(error) ? undefined : Promise.reject(error)),
  );

/**
 * Runs `use` on a channel of its own, closed after, so that a refusal (PRECONDITION_FAILED)
 * or a 404 closes only that one: on the consumer's, every delivery in flight would come again.
 */
const onOwnChannel = async <T>(
  manager: AmqpConnectionManager,
  use: (channel: Channel) => Promise<T>,
): Promise<T> => {
  const connection = manager.connection;
  if (connection === undefined) throw new Error('not connected to Pulse');
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    return await use(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
};

/** The queues and exchanges again (declareQueues), on a channel of their own. */
export const declareOnOwnChannel = (
  manager: AmqpConnectionManager,
  s: PulseSettings,
  names: PulseNames,
): Promise<void> => onOwnChannel(manager, (channel) => declareQueues(channel, s, names));

/** A queue's depth (queueDepth), asked on a channel of its own (Pulse may have deleted it). */
export const queueDepthOnOwnChannel = (
  manager: AmqpConnectionManager,
  name: string,
): Promise<number | undefined> => onOwnChannel(manager, (channel) => queueDepth(channel, name));
