import type { Options } from 'amqplib';
import type { PulseSettings } from '../../src/codecs/settings.js';
import { describeError } from '../../src/errors.js';

/**
 * How to reach Pulse, for the worker's reconnecting connection and the one-shot ones alike.
 * Credentials go in an object, never in a URL that could end up in a log line.
 */
export const pulseConnectOptions = (
  s: PulseSettings,
  heartbeatSeconds: number,
): Options.Connect => ({
  protocol: s.PULSE_SSL ? 'amqps' : 'amqp',
  hostname: s.PULSE_HOST,
  port: s.PULSE_PORT,
  username: s.PULSE_USERNAME,
  password: s.PULSE_PASSWORD,
  vhost: s.PULSE_VHOST,
  heartbeat: heartbeatSeconds,
});

/**
 * The settings an operator should look at when talking to Pulse failed, from the broker's (or
 * the network's) reason: a refused login, a refused vhost (the broker closes the connection
 * instead of opening it, with no more said), a refused queue, or no broker there at all.
 */
export const pulseSettingsToCheck = (error: unknown): readonly string[] => {
  const reason = describeError(error);
  if (/login was refused/i.test(reason)) return ['PULSE_USERNAME', 'PULSE_PASSWORD'];
  if (/ConnectionOpenOk|NOT.ALLOWED/i.test(reason)) return ['PULSE_VHOST', 'PULSE_USERNAME'];
  if (/ACCESS.REFUSED/i.test(reason)) return ['PULSE_USERNAME', 'PULSE_QUEUE_NAME'];
  return ['PULSE_HOST', 'PULSE_PORT', 'PULSE_SSL'];
};
