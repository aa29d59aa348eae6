import {
  DEFAULT_BREAKER_FAILURES,
  DEFAULT_BREAKER_PROBE_SECONDS,
  DEFAULT_MAX_ANSWER_MB,
  DEFAULT_GITHUB_API_URL,
  DEFAULT_GITHUB_WEB_URL,
  DEFAULT_STREAM_DEADLINE_SECONDS,
  type TelemetrySettings,
  type UpstreamSettings,
} from '../codecs/settings.js';
import { hgHosts } from './allowList.js';
import { BugzillaClient } from './bugzilla.js';
import { GitHubClient, type GitHubClientOptions } from './github.js';
import { HostHealth, type HostHealthOptions } from './health.js';
import { HgClient } from './hgmo.js';
import { HostLimits } from './hostLimits.js';
import { Http, type HttpOptions } from './http.js';
import { TelemetryClient } from './telemetry.js';

export interface Clients {
  /** Shared by every client, so the in-flight cap holds per host whoever calls it. */
  readonly limits: HostLimits;
  /** The upstream hosts' circuit breakers (the limits'), when they have them. */
  readonly health: HostHealth | undefined;
  readonly hg: HgClient;
  readonly bugzilla: BugzillaClient;
  /** git repositories on GitHub (GITHUB_WEB_URL, GITHUB_API_URL): the pipeline's git forge. */
  readonly github: GitHubClient;
}

/** What a caller may add to the GitHub client the settings make (tests, progress lines). */
export type GitHubExtras = Pick<GitHubClientOptions, 'onRateLimit' | 'minRateLimitWaitMs'>;

const MIB = 1024 * 1024;

/** The Http options the settings give; options passed along win (tests, benchmarks). */
const httpOptions = (
  settings: Partial<Pick<UpstreamSettings, 'STREAM_DEADLINE_SECONDS' | 'MAX_ANSWER_MB'>>,
  http: HttpOptions,
): HttpOptions => ({
  streamDeadlineMs: (settings.STREAM_DEADLINE_SECONDS ?? DEFAULT_STREAM_DEADLINE_SECONDS) * 1000,
  maxAnswerBytes: (settings.MAX_ANSWER_MB ?? DEFAULT_MAX_ANSWER_MB) * MIB,
  ...http,
});

/**
 * The hosts' health as the settings say (BREAKER_FAILURES, BREAKER_PROBE_SECONDS); `wait`
 * makes requests to a host that is down wait for it (the backfill) instead of failing.
 */
export const hostHealth = (
  settings: Pick<UpstreamSettings, 'BREAKER_FAILURES' | 'BREAKER_PROBE_SECONDS'>,
  whileDown: HostHealthOptions['whileDown'] = 'fail',
): HostHealth =>
  new HostHealth({
    failures: settings.BREAKER_FAILURES ?? DEFAULT_BREAKER_FAILURES,
    probeMs: (settings.BREAKER_PROBE_SECONDS ?? DEFAULT_BREAKER_PROBE_SECONDS) * 1000,
    whileDown,
  });

/**
 * Builds the clients that read upstream; `http` tunes deadlines and retries, and `limits`
 * may be a subclass that counts requests (tests, benchmarks). By default the limits carry a
 * HostHealth made from the settings: every host gets a circuit breaker.
 */
export const createClients = (
  settings: UpstreamSettings,
  http: HttpOptions = {},
  limits: HostLimits = new HostLimits(settings.HTTP_CONCURRENCY, hostHealth(settings)),
  github: GitHubExtras = {},
): Clients => {
  const options = httpOptions(settings, http);
  return {
    github: new GitHubClient(new Http(limits, options), limits, {
      webUrl: settings.GITHUB_WEB_URL ?? DEFAULT_GITHUB_WEB_URL,
      apiUrl: settings.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL,
      token: settings.GITHUB_TOKEN,
      allowedHosts: settings.ALLOWED_HOSTS,
      ...github,
    }),
    limits,
    health: limits.health,
    hg: new HgClient(
      new Http(limits, options),
      hgHosts(settings.ALLOWED_HOSTS, settings.GITHUB_WEB_URL),
    ),
    bugzilla: new BugzillaClient(new Http(limits, options), settings.BMO_API_URL),
  };
};

/**
 * The telemetry client, for the commands that send, under the same per-host limits. Given
 * the upstream settings too, it caps telemetry's answers at their MAX_ANSWER_MB.
 */
export const createTelemetryClient = (
  limits: HostLimits,
  settings: TelemetrySettings & Partial<Pick<UpstreamSettings, 'MAX_ANSWER_MB'>>,
  http: HttpOptions = {},
): TelemetryClient =>
  new TelemetryClient(new Http(limits, httpOptions(settings, http)), {
    baseUrl: settings.TMO_BASE_URL,
    namespace: settings.TMO_PING_NAMESPACE,
    doctype: settings.TMO_PING_DOCTYPE,
    docversion: settings.TMO_PING_DOCVERSION,
  });
