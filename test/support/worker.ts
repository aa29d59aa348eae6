import { PulseSource, type PulseOptions, type Settlement } from '../../streams/pulse/source.js';
import { createClients } from '../../src/clients/index.js';
import { PulseSettings, UpstreamSettings } from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import type { PipelineBounds } from '../../src/pipeline/index.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import type { Store } from '../../src/state/index.js';
import { MemorySink } from '../../src/sinks/memory.js';
import type { Sink } from '../../src/sinks/sink.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { hostsUpCheck } from '../../src/worker/pause.js';
import { Worker } from '../../src/worker/worker.js';
import type { PulseUser } from './broker.js';
import type { Fixtures } from './standIns/fixtureServer.js';

export interface TestWorker {
  readonly worker: Worker;
  readonly source: PulseSource;
  readonly sink: Sink;
  readonly settled: Settlement[];
  stop(): Promise<void>;
}

const settingsOrThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

/** The real worker in this process, against the real broker and fixture servers. */
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
  bounds?: PipelineBounds;
  /** The durable store; without one, nothing is remembered (a dry-run ledger). */
  store?: Store;
  testHooks?: PulseOptions['testHooks'];
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
  const clients = createClients(upstream, { backoffMs: 5, attempts: 3 });
  const source = new PulseSource({
    settings: pulse,
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: options.prefetch ?? 8,
    hold: options.hold ?? false,
    queue: options.queue ?? 'main',
    reconnectSeconds: 0.2,
    ...(options.testHooks === undefined ? {} : { testHooks: options.testHooks }),
    ...(clients.health && { hostsUp: hostsUpCheck(clients.health) }),
  });
  const settled: Settlement[] = [];
  source.settlements.subscribe((settlement) => settled.push(settlement));
  const sink = options.sink ?? new MemorySink();
  const worker = new Worker({
    source,
    deps: {
      ...clients,
      sink,
      ...(options.store === undefined
        ? dryRun
        : {
            ledger: options.store,
            policy: { whenHeld: 'defer', startsWatermarks: true },
          }),
    },
    metrics: new WorkerMetrics(),
    graceMs: 5_000,
    ...(options.store === undefined ? {} : { parked: options.store }),
    ...(options.bounds === undefined ? {} : { bounds: options.bounds }),
  });
  await worker.start();
  return { worker, source, sink, settled, stop: () => worker.stop('test over') };
};
