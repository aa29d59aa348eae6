import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Settlement } from '../../streams/pulse.js';
import { sentBySystem } from '../pipeline/job.js';

const EVENT_OF: Record<Settlement['action'], string> = {
  ack: 'acked',
  skip: 'skipped',
  requeue: 'requeued',
  defer: 'deferred',
  park: 'parked',
  hold: 'held',
};

/** The worker's Prometheus metrics. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly messages = new Counter({
    name: 'commit_telemetry_messages_total',
    help: 'Pulse messages by what became of them (acked, skipped, requeued, deferred, parked, held)',
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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  record(settlement: Settlement, inFlight: number): void {
    this.messages.inc({ event: EVENT_OF[settlement.action] });
    this.inFlight.set(inFlight);
    const result = settlement.result;
    if (result === undefined) return;
    this.processing.observe((Date.now() - result.job.receivedAt) / 1000);
    for (const [system, count] of Object.entries(sentBySystem(result.outcomes))) {
      this.pings.inc({ review_system: system, outcome: 'sent' }, count);
    }
    // Changesets that got no ping here have no review system to show.
    for (const [status, outcome] of [
      ['failed', 'failed'],
      ['skipped', 'already_sent'],
      ['held', 'held'],
    ] as const) {
      const count = result.outcomes.filter((o) => o.status === status).length;
      if (count > 0) this.pings.inc({ review_system: 'unclassified', outcome }, count);
    }
  }

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
        response.end(ok ? 'ok\n' : 'not consuming\n');
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
