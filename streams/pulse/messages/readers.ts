import type { ConsumeMessage } from 'amqplib';
import type { PulseSettings } from '../../../src/codecs/settings.js';
import { readGitHubPush, type GitHubPushReading } from './githubMessage.js';
import { readPulseMessage, type MessageReading } from './message.js';
import type { PulseOptions } from '../connection/options.js';
import { githubBinding } from '../connection/topology.js';

/** What a message of any exchange the queue is bound to asks of us. */
export type Reading = MessageReading | GitHubPushReading;

type MessageReader = (body: Buffer) => Reading;

/**
 * Reads a message with the codec of the exchange it was published on, as Treeherder's push
 * loader does. A copy of ours (a retry, a replay of a parked message) comes through our own
 * exchanges: its origin is the `x-exchange` header retry.ts sets. Anything else (a message
 * published by hand, or parked before the origin was recorded) is read as hgpush, as always.
 */
export const messageReader = (options: PulseOptions): ((message: ConsumeMessage) => Reading) => {
  const s: PulseSettings = options.settings;
  const hg: MessageReader = (body) =>
    readPulseMessage(body, options.allowedHosts, options.github?.webUrl);
  const table = new Map<string, MessageReader>([[s.PULSE_EXCHANGE, hg]]);
  const { github } = options;
  const binding = githubBinding(s);
  if (binding !== undefined && github !== undefined) {
    const reader = { ...github, allowedHosts: options.allowedHosts };
    table.set(binding.exchange, (body) => readGitHubPush(body, reader));
  }
  return (message) => {
    const origin = (message.properties.headers as Record<string, unknown> | undefined)?.[
      'x-exchange'
    ];
    const read =
      table.get(message.fields.exchange) ??
      (typeof origin === 'string' ? table.get(origin) : undefined) ??
      hg;
    return read(message.content);
  };
};
