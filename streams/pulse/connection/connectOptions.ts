import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Options } from 'amqplib';
import type { PulseSettings } from '../../../src/codecs/settings.js';
import { describeError } from '../../../src/errors.js';

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
  if (/NOT.FOUND - no exchange/i.test(reason)) return ['PULSE_EXCHANGE'];
  return ['PULSE_HOST', 'PULSE_PORT', 'PULSE_SSL'];
};

/** The broker refused the login (a wrong user or password): retrying will not help. */
export const LOGIN_REFUSED = /ACCESS.REFUSED|\b403\b/;

/**
 * Waits for the first connection and the consumer's channel (its setup declares the queues),
 * or fails within `timeoutMs` with the last attempt's cause (ECONNREFUSED, a TLS `wrong
 * version number`); at once if the broker refused the login (403): trying again with the same
 * password will not help.
 */
export const waitForPulse = async (
  connection: AmqpConnectionManager,
  channel: ChannelWrapper,
  timeoutMs: number,
): Promise<void> => {
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => undefined);
  let last: Error | undefined;
  const attemptFailed = ({ err }: { err: Error }) => {
    last = err;
    if (LOGIN_REFUSED.test(err.message)) fail(err);
  };
  connection.on('connectFailed', attemptFailed);
  const timer = setTimeout(() => {
    const cause = last === undefined ? '' : `; last attempt: ${last.message.trim()}`;
    fail(new Error(`no connection within ${timeoutMs / 1000} s${cause}`, { cause: last }));
  }, timeoutMs);
  channel.once('error', fail);
  try {
    await Promise.race([
      // connect() waits for the next 'connect' event: one that already happened (while the
      // store was opening, say) would never come again.
      (connection.isConnected()
        ? Promise.resolve()
        : connection.connect({ timeout: timeoutMs })
      ).then(() => channel.waitForConnect()),
      failed,
    ]);
  } finally {
    clearTimeout(timer);
    channel.off('error', fail);
    connection.off('connectFailed', attemptFailed);
  }
};
