import type { TelemetryClient } from '../clients/telemetry.js';
import type { Sink } from './sink.js';

/** The production sink: each ping is PUT to telemetry ingestion. */
export const telemetrySink = (client: TelemetryClient): Sink => ({
  send: (ping) => client.submit(ping),
});
