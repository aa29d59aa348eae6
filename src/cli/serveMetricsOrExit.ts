import type { Server } from 'node:http';
import type { MetricsSettings } from '../codecs/settings.js';
import { describeError } from '../errors.js';
import type { WorkerMetrics } from '../worker/metrics.js';
import { EXIT, fail } from './program.js';

/**
 * Serves /metrics and /healthz on METRICS_PORT, else Heroku's PORT, else nowhere. A port in
 * use exits 1 naming the setting, before the worker takes anything from the queue.
 */
export const serveMetricsOrExit = async (
  name: string,
  metrics: WorkerMetrics,
  settings: MetricsSettings,
  healthy: () => boolean,
): Promise<Server | undefined> => {
  const port = settings.METRICS_PORT ?? settings.PORT;
  if (port === undefined) return undefined;
  try {
    return await metrics.serve(port, healthy);
  } catch (error) {
    const variable = settings.METRICS_PORT === undefined ? 'PORT' : 'METRICS_PORT';
    return fail(
      name,
      `cannot serve metrics on port ${port} (${variable}): ${describeError(error)}; set ${variable} to a free port`,
      EXIT.failed,
    );
  }
};
