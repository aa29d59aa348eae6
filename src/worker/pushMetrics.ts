import { hostname } from 'node:os';
import { Pushgateway, type PrometheusContentType, type Registry } from 'prom-client';
import { log } from '../log.js';
import { maskUrlCredentials } from '../redact.js';

/** The `job` label of every group the worker pushes. */
export const PUSH_JOB = 'commit-telemetry';

/**
 * Most a push (or the delete at stop) may take. Pushes never overlap (the next one is due an
 * interval after the last one ended). At stop, a push in flight and then the delete may take
 * twice this, after the worker's own drain: the store is closed meanwhile, not after.
 */
export const PUSH_TIMEOUT_MS = 5_000;

/**
 * While pushes keep failing, one warning for the first failure and then one for every this
 * many in a row (5 minutes at the default 15 s); the failures between are debug lines, so a
 * gateway that is down for a day does not fill the log.
 */
export const WARN_EVERY_FAILURES = 20;

/**
 * The `instance` grouping label, which keeps the groups of several workers apart: Heroku's
 * `DYNO` (`queueworker.1`, `run.4242`), which a restarted dyno keeps, so its first push replaces
 * what its previous life left; else the host name (a container's id under Docker). The
 * Pushgateway takes a path segment with `/`, or an empty one, only base64-encoded: anything but
 * letters, digits, `.`, `_`, `-` and `:` becomes `_`.
 */
export const instanceLabel = (env: NodeJS.ProcessEnv = process.env, host = hostname()): string => {
  const name = [env.DYNO, host].map((s) => s?.trim() ?? '').find((s) => s !== '') ?? 'unknown';
  return name.replace(/[^A-Za-z0-9._:-]/g, '_');
};

/** Where a group lives on the gateway, credentials masked: for log lines and the README. */
export const groupUrl = (gatewayUrl: string, job: string, instance: string): string =>
  maskUrlCredentials(
    `${gatewayUrl}/metrics/job/${encodeURIComponent(job)}/instance/${encodeURIComponent(instance)}`,
  );

/** Whether the `failures`-th push failure in a row is logged as a warning (else as debug). */
export const warnsAt = (failures: number): boolean =>
  failures === 1 || failures % WARN_EVERY_FAILURES === 0;

export interface PusherOptions {
  /** The Pushgateway, as PROMETHEUS_PUSHGATEWAY_URL says (`user:password@` is basic auth). */
  readonly url: string;
  readonly registry: Registry;
  readonly intervalMs: number;
  readonly instance: string;
  readonly job?: string;
  readonly timeoutMs?: number;
}

/**
 * Pushes a registry to a Prometheus Pushgateway: at once, then an interval after each push
 * ends, until `stop()`. A failed push is logged (the URL's credentials masked) and tried
 * again at the next interval; it never throws into the worker.
 *
 * PUT (`push`), not POST (`pushAdd`): the registry is this process's whole state, so its group
 * should be exactly that. POST replaces only the metric names pushed, so series a previous
 * process of the same instance left (a label value this one has not produced yet, a metric an
 * older version had) would live on beside the new ones, mixing two processes' counters.
 *
 * At stop, the group is deleted rather than pushed a last time and kept: the gateway would
 * serve a stopped worker's last values forever, as if it still ran (`consuming` 1, a
 * `last_ack_timestamp` that stops moving, a queue depth that never changes), and alerts would
 * go off, or stay quiet, on a worker that is gone. A final push just before the delete would
 * be gone before a scrape could see it. A process killed without a clean stop leaves its group:
 * its `push_time_seconds` stops moving (alert on that), and on Heroku the dyno's next life
 * replaces it.
 */
export class MetricsPusher {
  readonly job: string;
  readonly instance: string;
  /** The group's URL with credentials masked, for log lines. */
  readonly where: string;
  private readonly gateway: Pushgateway<PrometheusContentType>;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pushing: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;

  constructor(options: PusherOptions) {
    this.job = options.job ?? PUSH_JOB;
    this.instance = options.instance;
    this.intervalMs = options.intervalMs;
    this.where = groupUrl(options.url, this.job, this.instance);
    this.gateway = new Pushgateway(
      options.url,
      {
        timeout: options.timeoutMs ?? PUSH_TIMEOUT_MS,
        headers: { 'Content-Type': options.registry.contentType },
      },
      options.registry,
    );
  }

  private get group(): Pushgateway.Parameters {
    return { jobName: this.job, groupings: { instance: this.instance } };
  }

  /** Pushes now, then every interval; returns at once. */
  start(): void {
    log.info('pushing metrics to the Pushgateway', {
      url: this.where,
      everySeconds: this.intervalMs / 1000,
    });
    this.tick();
  }

  private tick(): void {
    this.pushing = this.pushOnce().then(() => {
      if (this.stopped) return;
      // unref: the pusher alone never keeps the process alive.
      this.timer = setTimeout(() => this.tick(), this.intervalMs).unref();
    });
  }

  /** One push; says whether it worked. Never rejects. */
  async pushOnce(): Promise<boolean> {
    try {
      await this.gateway.push(this.group);
      if (this.failures > 0) {
        log.info('pushing metrics works again', { url: this.where, failures: this.failures });
      }
      this.failures = 0;
      return true;
    } catch (error) {
      this.failures += 1;
      const fields = { url: this.where, error, failuresInARow: this.failures };
      const msg = 'could not push metrics to the Pushgateway; trying again at the next interval';
      if (warnsAt(this.failures)) log.warn(msg, fields);
      else log.debug(msg, fields);
      return false;
    }
  }

  /**
   * Stops pushing, waits for a push in flight, then deletes this instance's group (see the
   * class comment for why). A failed delete is a warning; never rejects.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pushing;
    try {
      await this.gateway.delete(this.group);
      log.info("deleted this worker's metrics from the Pushgateway", { url: this.where });
    } catch (error) {
      log.warn("could not delete this worker's metrics from the Pushgateway; they stay there", {
        url: this.where,
        error,
        fix: `curl -X DELETE ${this.where} (with the gateway's credentials)`,
      });
    }
  }
}
