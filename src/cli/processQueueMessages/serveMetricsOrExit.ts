import type { Server } from 'node:http';
import { DEFAULT_PUSH_SECONDS, type MetricsSettings } from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import type { WorkerMetrics } from '../../worker/metrics.js';
import { instanceLabel, MetricsPusher } from '../../worker/pushMetrics.js';
import { EXIT, fail } from '../shared/program.js';

/** What serveMetricsOrExit started. */
export interface MetricsOutlets {
  /**
   * Stops serving and pushing; resolves once this instance's group is deleted from the
   * Pushgateway (or that failed: never rejects). Await it before process.exit.
   */
  close(): Promise<void>;
}

/**
 * Serves /metrics and /healthz on METRICS_PORT, else Heroku's PORT, else nowhere; and pushes
 * the metrics to PROMETHEUS_PUSHGATEWAY_URL when it is set (both may be on). A port in use
 * exits 1 naming the setting, before the worker takes anything from the queue; a Pushgateway
 * that does not answer is only a warning (see MetricsPusher).
 */
export const serveMetricsOrExit = async (
  name: string,
  metrics: WorkerMetrics,
  settings: MetricsSettings,
  healthy: () => boolean,
): Promise<MetricsOutlets> => {
  const port = settings.METRICS_PORT ?? settings.PORT;
  let server: Server | undefined;
  try {
    server = port === undefined ? undefined : await metrics.serve(port, healthy);
  } catch (error) {
    const variable = settings.METRICS_PORT === undefined ? 'PORT' : 'METRICS_PORT';
    return fail(
      name,
      `cannot serve metrics on port ${port} (${variable}): ${describeError(error)}; set ${variable} to a free port`,
      EXIT.failed,
    );
  }
  const url = settings.PROMETHEUS_PUSHGATEWAY_URL;
  const pusher =
    url === undefined
      ? undefined
      : new MetricsPusher({
          url,
          registry: metrics.registry,
          intervalMs: (settings.PROMETHEUS_PUSH_SECONDS ?? DEFAULT_PUSH_SECONDS) * 1000,
          instance: instanceLabel(),
        });
  pusher?.start();
  return {
    close: async () => {
      server?.close();
      await pusher?.stop();
    },
  };
};
