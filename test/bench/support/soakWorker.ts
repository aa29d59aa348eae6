/**
 * The soak benchmark's worker process (soak.ts forks it): the real always-on Worker, built as
 * test/support/worker.ts builds it but with the service's own edges: the telemetry sink (PUT
 * to the fixture telemetry server) and the durable store on SQLite, in a file soak.ts gives
 * and removes. Its memory is what soak.ts judges, so it holds nothing per message: the
 * settlements are counted, not kept.
 *
 * Over IPC: it gets its spec, answers `ready`, sends a `status` every second, a `sample` (RSS
 * and heap, then heap and RSS after a full collection) when asked, and `stopped` after a
 * clean stop. Run it with --expose-gc.
 */
import { PulseSource, type Settlement } from '../../../streams/pulse/source.js';
import { createClients, createTelemetryClient } from '../../../src/clients/index.js';
import {
  PulseSettings,
  TelemetrySettings,
  UpstreamSettings,
} from '../../../src/codecs/settings.js';
import { readSettings } from '../../../src/config.js';
import { configureLog } from '../../../src/log.js';
import { telemetrySink } from '../../../src/sinks/telemetry.js';
import { openStore } from '../../../src/state/index.js';
import { WorkerMetrics } from '../../../src/worker/metrics.js';
import { Worker } from '../../../src/worker/worker.js';

export interface SoakWorkerSpec {
  readonly env: Record<string, string>;
  readonly prefetch: number;
  /** The SQLite file of the durable store. */
  readonly databasePath: string;
}

/** What became of the messages so far, by the worker's own settlements. */
export interface SoakCounts {
  /** Deliveries, redeliveries included. */
  received: number;
  acked: number;
  skipped: number;
  requeued: number;
  deferred: number;
  /** Parked without reaching the pipeline: undecodable (or a repo_url not allowed). */
  parkedUnread: number;
  /** Parked after the pipeline failed them: a push whose pings may be missing. */
  parkedFailed: number;
  /** Changesets sent, and changesets that failed (each failure of a requeued message too). */
  pingsSent: number;
  changesetsFailed: number;
}

export interface SoakStatus {
  readonly counts: SoakCounts;
  readonly inFlight: number;
  readonly rss: number;
  readonly heapUsed: number;
}

export interface SoakSample extends SoakStatus {
  /** After a full collection (global.gc). */
  readonly liveHeap: number;
  readonly rssAfterGc: number;
  readonly external: number;
  /** The kernel's peak RSS of the process so far. */
  readonly maxRss: number;
}

export type ToSoakWorker =
  { type: 'spec'; spec: SoakWorkerSpec } | { type: 'sample' } | { type: 'stop' };
export type FromSoakWorker =
  | { type: 'ready' }
  | { type: 'status'; status: SoakStatus }
  | { type: 'sample'; sample: SoakSample }
  | { type: 'stopped'; sample: SoakSample; ledger: number; watermark: number | undefined }
  | { type: 'failed'; error: string };

const orThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

const send = (message: FromSoakWorker): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined || !process.connected) return resolve();
    process.send(message, () => resolve());
  });

const countSettlement = (counts: SoakCounts, settlement: Settlement): void => {
  const result = settlement.result;
  if (result !== undefined) {
    for (const outcome of result.outcomes) {
      if (outcome.status === 'sent') counts.pingsSent += 1;
      else if (outcome.status === 'failed') counts.changesetsFailed += 1;
    }
  }
  switch (settlement.action) {
    case 'ack':
      counts.acked += 1;
      break;
    case 'skip':
      counts.skipped += 1;
      break;
    case 'requeue':
      counts.requeued += 1;
      break;
    case 'defer':
      counts.deferred += 1;
      break;
    case 'park':
      if (result === undefined) counts.parkedUnread += 1;
      else counts.parkedFailed += 1;
      break;
    case 'hold':
      break;
  }
};

const run = async (spec: SoakWorkerSpec): Promise<void> => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the soak worker with --expose-gc');
  const { env } = spec;
  const upstream = orThrow(readSettings(UpstreamSettings, env));
  const telemetry = orThrow(readSettings(TelemetrySettings, env));
  const pulse = orThrow(readSettings(PulseSettings, env));
  const store = await openStore(`sqlite:${spec.databasePath}`);
  // The service's own HTTP settings: 4 attempts, backoff from 500 ms, deadlines from env.
  const clients = createClients(upstream);
  const sink = telemetrySink(
    createTelemetryClient(clients.limits, { ...telemetry, MAX_ANSWER_MB: upstream.MAX_ANSWER_MB }),
  );
  const source = new PulseSource({
    settings: pulse,
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: spec.prefetch,
  });
  const counts: SoakCounts = {
    received: 0,
    acked: 0,
    skipped: 0,
    requeued: 0,
    deferred: 0,
    parkedUnread: 0,
    parkedFailed: 0,
    pingsSent: 0,
    changesetsFailed: 0,
  };
  source.settlements.subscribe((settlement) => countSettlement(counts, settlement));
  const worker = new Worker({
    source,
    deps: {
      ...clients,
      sink,
      ledger: store,
      // The worker's policy, as src/cli/processQueueMessages/main.ts sets it.
      policy: { whenHeld: 'defer', startsWatermarks: true },
    },
    metrics: new WorkerMetrics(),
    graceMs: 10_000,
    parked: store,
  });
  const status = (): SoakStatus => {
    counts.received = source.counters.received;
    const memory = process.memoryUsage();
    return {
      counts: { ...counts },
      inFlight: source.inFlight,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
    };
  };
  const sample = (): SoakSample => {
    const before = status();
    gc();
    const after = process.memoryUsage();
    return {
      ...before,
      liveHeap: after.heapUsed,
      rssAfterGc: after.rss,
      external: after.external,
      maxRss: process.resourceUsage().maxRSS * 1024,
    };
  };

  let stopping = false;
  void worker.stopped.then(async (stop) => {
    if (stopping) return;
    await send({ type: 'failed', error: `the worker stopped by itself: ${stop.reason}` });
    process.exit(1);
  });
  await worker.start();
  const ticker = setInterval(() => void send({ type: 'status', status: status() }), 1000);
  process.on('message', (message: ToSoakWorker) => {
    if (message.type === 'sample') {
      void send({ type: 'sample', sample: sample() });
    } else if (message.type === 'stop' && !stopping) {
      stopping = true;
      clearInterval(ticker);
      void (async () => {
        await worker.stop('soak over');
        const ledgerStatus = await store.status();
        await store.close();
        const repository = ledgerStatus.repositories[0];
        const ledger = ledgerStatus.repositories.reduce(
          (sum, r) => sum + Object.values(r.sentLast24Hours).reduce((a, b) => a + b, 0),
          0,
        );
        await send({
          type: 'stopped',
          sample: sample(),
          ledger,
          // An hg repository: its watermark is a push id.
          watermark: typeof repository?.watermark === 'number' ? repository.watermark : undefined,
        });
        process.exit(0);
      })().catch(async (error: unknown) => {
        await send({ type: 'failed', error: String(error) });
        process.exit(1);
      });
    }
  });
  await send({ type: 'ready' });
};

configureLog({ level: 'error' });
process.once('message', (message: ToSoakWorker) => {
  if (message.type !== 'spec') return;
  run(message.spec).catch(async (error: unknown) => {
    await send({
      type: 'failed',
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    process.exit(1);
  });
});
// The parent went away: nothing would stop this process otherwise.
process.on('disconnect', () => process.exit(2));
