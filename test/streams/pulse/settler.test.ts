import test from 'ava';
import { Subject } from 'rxjs';
import { PulseSettings } from '../../../src/codecs/settings.js';
import { configureLog } from '../../../src/log.js';
import type { JobOutcome } from '../../../src/pipeline/job.js';
import type { AckChannel } from '../../../streams/pulse/ackOrNack.js';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import { InFlight } from '../../../streams/pulse/inFlight.js';
import { noCounts, type Delivery, type Settlement } from '../../../streams/pulse/settlement.js';
import { Settler, type SettlerLink } from '../../../streams/pulse/settler.js';

// An ack or nack amqplib refuses (its channel closing during a forced reconnect, before the
// channel says it closed) must settle the message as a closed channel does, not reject: a
// rejected settle errors the worker's pipeline and stops the worker, every job with it.

configureLog({ level: 'silent' });

const decoded = PulseSettings.decode({
  PULSE_USERNAME: 'me',
  PULSE_PASSWORD: 'secret-password',
  PULSE_QUEUE_NAME: 'q',
  PULSE_QUEUE_ROUTING_KEY: '#',
});
if (decoded._tag === 'Left') throw new Error('the Pulse settings do not decode');
const settings = decoded.right;

/** What amqplib throws from ack and nack once its channel is closing. */
const channelClosing = () => {
  const error = new Error('Channel closing');
  error.name = 'IllegalOperationError';
  throw error;
};

const delivery: Delivery = {
  label: 'message 7',
  generation: 1,
  message: {
    content: Buffer.from('{}'),
    fields: {
      deliveryTag: 7,
      redelivered: false,
      exchange: 'exchange/hgpushes/v2',
      routingKey: 'integration/autoland',
      consumerTag: 'test',
    },
    properties: {
      contentType: undefined,
      contentEncoding: undefined,
      headers: {},
      deliveryMode: undefined,
      priority: undefined,
      correlationId: undefined,
      replyTo: undefined,
      expiration: undefined,
      messageId: undefined,
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
    },
  },
};

const job = {
  label: 'message 7',
  target: { kind: 'push', repository: 'https://hg.mozilla.org/integration/autoland', pushId: 5 },
  receivedAt: 0,
} as const;
/** Every changeset done: acked. */
const done: JobOutcome = { job, outcomes: [] };
/** A changeset another process holds: deferred, nacked back to the queue. */
const held: JobOutcome = { job, outcomes: [{ status: 'held', node: 'a'.repeat(40) }] };

/** A settler on one message in flight, over a channel that is open or closed, as given. */
const settlerOver = (channel: AckChannel, open: boolean) => {
  const seen: Settlement[] = [];
  const settled = new Subject<Settlement>();
  settled.subscribe((settlement) => seen.push(settlement));
  const inFlight = new InFlight();
  inFlight.enter();
  const counters = noCounts();
  const link: SettlerLink = {
    generation: 1,
    current: (generation) => open && generation === 1,
    copy: async () => true,
    channel,
  };
  const settler = new Settler({
    link,
    names: pulseNames('me', 'q'),
    options: { settings, allowedHosts: [], prefetch: 1, deferMs: 0 },
    retryMaxAgeMs: 60_000,
    replay: undefined,
    inFlight,
    counters,
    settled,
    failedDepth: async () => 0,
  });
  return { settler, seen, counters, inFlight };
};

/** A channel that takes every ack and nack, and says which it was told. */
const working = () => {
  const told: string[] = [];
  const channel: AckChannel = {
    ack: () => void told.push('ack'),
    nack: () => void told.push('nack'),
  };
  return { channel, told };
};
const refusing: AckChannel = { ack: channelClosing, nack: channelClosing };

for (const [what, result] of [
  ['an ack', done],
  ['a nack', held],
] as const) {
  test(`${what} the channel refuses settles the message as a closed channel does`, async (t) => {
    const closed = settlerOver(working().channel, false);
    await closed.settler.settle(delivery, result);

    const refused = settlerOver(refusing, true);
    await t.notThrowsAsync(refused.settler.settle(delivery, result));
    t.deepEqual(refused.seen, closed.seen);
    t.is(refused.seen.length, 1);
    t.is(refused.seen[0]?.action, 'requeue', 'the broker delivers it again');
    t.deepEqual(refused.counters, closed.counters);
    t.is(refused.inFlight.size, 0, 'no longer in flight: a stop does not wait for it');
  });
}

test('an open channel is told: acked, or nacked back to the queue', async (t) => {
  const open = working();
  const acked = settlerOver(open.channel, true);
  await acked.settler.settle(delivery, done);
  t.is(acked.seen[0]?.action, 'ack');
  t.is(acked.counters.acked, 1);
  const deferred = settlerOver(open.channel, true);
  await deferred.settler.settle(delivery, held);
  t.is(deferred.seen[0]?.action, 'defer');
  t.is(deferred.counters.deferred, 1);
  t.deepEqual(open.told, ['ack', 'nack']);
});
