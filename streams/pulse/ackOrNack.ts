import { log } from '../../src/log.js';
import type { PulseLink } from './connection/link.js';
import type { Delivery } from './settlement.js';

/** The channel a message is acked or nacked on: a unit test's stub stands in for it. */
export type AckChannel = Pick<PulseLink['channel'], 'ack' | 'nack'>;

/**
 * Acks the message, or nacks it back to the queue. amqplib throws (IllegalOperationError,
 * "Channel closing") when its channel is closing and has not said so yet, as in a forced
 * reconnect: that is the channel closed under us, and it must not end the worker. The message
 * comes back, and the ledger keeps its pings from being sent twice. Answers whether the
 * broker was told.
 */
export const ackOrNack = (channel: AckChannel, delivery: Delivery, requeue: boolean): boolean => {
  try {
    if (requeue) channel.nack(delivery.message, false, true);
    else channel.ack(delivery.message);
    return true;
  } catch (error) {
    log.warn('the channel refused the ack or nack: it is closing', { job: delivery.label, error });
    return false;
  }
};
