import { Gauge, type Registry } from 'prom-client';
import type { GitHubClient } from '../github.js';

/**
 * `commit_telemetry_github_rate_limit_reset_seconds`: when the last GitHub rate-limit wait
 * ends (seconds since the epoch), 0 before any. Above the current time, the worker sends
 * nothing to GitHub until then: an alert can tell a wait from an outage.
 */
export const githubRateLimitGauge = (
  registry: Registry,
  github: { readonly rateLimits: Pick<GitHubClient['rateLimits'], 'onRateLimit'> },
): Gauge => {
  const gauge = new Gauge({
    name: 'commit_telemetry_github_rate_limit_reset_seconds',
    help: 'When the last GitHub rate-limit wait ends (seconds since the epoch); 0 before any',
    registers: [registry],
  });
  gauge.set(0);
  github.rateLimits.onRateLimit((until) => gauge.set(Math.ceil(until / 1000)));
  return gauge;
};
