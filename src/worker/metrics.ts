import pkg from '../../package.json' with { type: 'json' };
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { pingCounts, type Settlement } from '../pipeline/job.js';

const EVENT_OF: Record<Settlement['action'], string> = {
  ack: 'acked',
  skip: 'skipped',
  requeue: 'requeued',
  defer: 'deferred',
  park: 'parked',
  hold: 'held',
  retry: 'retried',
};

/** Retries are counted by attempt up to this one; later ones share the label `6+`. */
const MAX_ATTEMPT_LABEL = 6;

/** The worker's Prometheus metrics. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly messages = new Counter({
    name: 'commit_telemetry_messages_total',
    help: 'Pulse messages by what became of them (acked, skipped, retried, requeued, deferred, parked, held)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly pings = new Counter({
    name: 'commit_telemetry_pings_total',
    help: 'Changesets by review system and outcome (sent, failed, already_sent, held)',
    labelNames: ['review_system', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly processing = new Histogram({
    name: 'commit_telemetry_message_seconds',
    help: 'Time from delivery to settlement of a message',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'commit_telemetry_messages_in_flight',
    help: 'Messages delivered and not yet settled',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'commit_telemetry_queue_depth',
    help: 'Messages ready in the Pulse queue at the last check',
    registers: [this.registry],
  });
  /**
   * Reads the parked queue's depth; set while the worker runs (queueDepth.ts). Asked at each
   * scrape and push, so that the gauge says what telemetry-status says, not what was true at
   * the last periodic check; undefined (or a failed read) keeps the last value.
   */
  readParkedDepth: (() => Promise<number | undefined>) | undefined;
  readonly parkedQueueDepth: Gauge = new Gauge({
    name: 'commit_telemetry_parked_queue_depth',
    help: 'Messages waiting in the failed (parked) queue, read at each scrape: an operator owns them',
    registers: [this.registry],
    collect: async () => {
      const depth = await this.readParkedDepth?.().catch(() => undefined);
      if (depth !== undefined) this.parkedQueueDepth.set(depth);
    },
  });
  readonly lastAck = new Gauge({
    name: 'commit_telemetry_last_ack_timestamp_seconds',
    help: 'When a message was last acknowledged (Unix seconds): a stuck worker stops moving it',
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'commit_telemetry_build_info',
    help: 'Always 1; its labels say which version runs on which Node.js',
    labelNames: ['version', 'node'] as const,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'commit_telemetry_retries_total',
    help: 'Messages sent to a delay queue, by the attempt that failed (1 for the first)',
    labelNames: ['attempt'] as const,
    registers: [this.registry],
  });
  readonly parked = new Counter({
    name: 'commit_telemetry_parked_total',
    help: 'Messages parked, by reason (undecodable, host_not_allowed, permanent, too_old, replay_failed)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ version: pkg.version, node: process.version }, 1);
  }

  record(settlement: Settlement, inFlight: number): void {
    this.messages.inc({ event: EVENT_OF[settlement.action] });
    // Skipped, retried and parked messages are acked too; held, deferred and requeued are not.
    if (!['hold', 'defer', 'requeue'].includes(settlement.action)) {
      this.lastAck.set(Date.now() / 1000);
    }
    this.inFlight.set(inFlight);
    if (settlement.retry !== undefined) {
      const { attempt } = settlement.retry;
      this.retries.inc({
        attempt: attempt < MAX_ATTEMPT_LABEL ? String(attempt) : `${MAX_ATTEMPT_LABEL}+`,
      });
    }
    if (settlement.action === 'park') this.parked.inc({ reason: settlement.parkReason ?? 'other' });
    const result = settlement.result;
    if (result === undefined) return;
    this.processing.observe((Date.now() - result.job.receivedAt) / 1000);
    for (const { reviewSystem, outcome, count } of pingCounts(result.outcomes)) {
      this.pings.inc({ review_system: reviewSystem, outcome }, count);
    }
  }

  /**
   * What /healthz says instead of `ok` (or, unhealthy, `not consuming`): the worker sets it, to
   * say why it is paused (an upstream is down, healthy still; the store is down, unhealthy).
   */
  healthNote: (() => string | undefined) | undefined;

  /** Serves `/metrics` and `/healthz` (200 while `healthy()` says so, else 503). */
  serve(port: number, healthy: () => boolean): Promise<Server> {
    const server = createServer((request, response) => {
      if (request.url === '/metrics') {
        this.registry.metrics().then(
          (text) => {
            response.writeHead(200, { 'content-type': this.registry.contentType });
            response.end(text);
          },
          () => response.writeHead(500).end(),
        );
      } else if (request.url === '/healthz') {
        const ok = healthy();
        response.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        response.end(`${this.healthNote?.() ?? (ok ? 'ok' : 'not consuming')}\n`);
      } else {
        response.writeHead(404).end();
      }
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }
}

/**
 * Outages, in the worker's registry: whether each upstream host (and the store) is up, as
 * its circuit breaker says at each scrape, and whether the worker is consuming (0 while it
 * is paused for an outage).
 */
export class OutageMetrics {
  readonly upstreamUp: Gauge<'host'>;
  readonly consuming: Gauge;

  constructor(registry: Registry, hosts: () => readonly { host: string; up: boolean }[]) {
    this.upstreamUp = new Gauge({
      name: 'commit_telemetry_upstream_up',
      help: 'Whether an upstream host (or the store) is up (1) or taken for down (0)',
      labelNames: ['host'] as const,
      registers: [registry],
      collect() {
        for (const { host, up } of hosts()) this.set({ host }, up ? 1 : 0);
      },
    });
    this.consuming = new Gauge({
      name: 'commit_telemetry_consuming',
      help: 'Whether the worker takes messages from its queue (0 while paused for an outage)',
      registers: [registry],
    });
  }
}
