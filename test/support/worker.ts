import type { Subscription } from 'rxjs';
import { PulseSource } from '../../streams/pulse.js';
import type { Verdict } from '../../src/rules/pulse.js';
import { createClients } from '../../src/clients/index.js';
import { PulseSettings, UpstreamSettings } from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import type { JobOutcome } from '../../src/pipeline/job.js';
import { pipeline } from '../../src/pipeline/index.js';
import { MemorySink } from '../../src/sinks/memory.js';
import type { Sink } from '../../src/sinks/sink.js';
import type { PulseUser } from './broker.js';
import type { Fixtures } from './fixtureServer.js';

export interface TestWorker {
  readonly source: PulseSource;
  readonly sink: Sink;
  readonly settled: { result: JobOutcome; verdict: Verdict }[];
  stop(): Promise<void>;
}

const settingsOrThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

/** The worker's source and pipeline in this process, against the real broker and fixtures. */
export const startWorker = async (options: {
  user: PulseUser;
  queueName: string;
  /** Each test binds its own key, so tests sharing the exchange do not see each other's messages. */
  routingKey: string;
  fx: Fixtures;
  prefetch?: number;
  hold?: boolean;
  queue?: 'main' | 'failed';
  sink?: Sink;
  /** Settings to override, such as PULSE_EXCHANGE. */
  env?: Record<string, string>;
}): Promise<TestWorker> => {
  const env = {
    ...options.user.env(options.queueName, options.routingKey),
    ...options.fx.env,
    ...options.env,
  };
  const pulse = settingsOrThrow(readSettings(PulseSettings, env));
  const upstream = settingsOrThrow(readSettings(UpstreamSettings, env));
  const settled: TestWorker['settled'] = [];
  const source = new PulseSource({
    settings: pulse,
    prefetch: options.prefetch ?? 8,
    hold: options.hold ?? false,
    queue: options.queue ?? 'main',
    reconnectSeconds: 0.2,
    onSettled: (result, verdict) => settled.push({ result, verdict }),
  });
  await source.ready(5_000).catch(async (error: unknown) => {
    await source.stop(0);
    throw error;
  });
  const sink = options.sink ?? new MemorySink();
  const clients = createClients(upstream, { backoffMs: 5, attempts: 3 });
  const subscription: Subscription = pipeline({ ...clients, sink })(source.jobs).subscribe();
  return {
    source,
    sink,
    settled,
    stop: async () => {
      await source.stop(5_000);
      subscription.unsubscribe();
    },
  };
};
