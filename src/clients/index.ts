import {
  DEFAULT_MAX_ANSWER_MB,
  DEFAULT_STREAM_DEADLINE_SECONDS,
  type TelemetrySettings,
  type UpstreamSettings,
} from '../codecs/settings.js';
import { BugzillaClient } from './bugzilla.js';
import { HgClient } from './hgmo.js';
import { HostLimits } from './hostLimits.js';
import { Http, type HttpOptions } from './http.js';
import { TelemetryClient } from './telemetry.js';

export interface Clients {
  /** Shared by every client, so the in-flight cap holds per host whoever calls it. */
  readonly limits: HostLimits;
  readonly hg: HgClient;
  readonly bugzilla: BugzillaClient;
}

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
 * Builds the clients that read upstream; `http` tunes deadlines and retries, and `limits`
 * may be a subclass that counts requests (tests, benchmarks).
 */
export const createClients = (
  settings: UpstreamSettings,
  http: HttpOptions = {},
  limits: HostLimits = new HostLimits(settings.HTTP_CONCURRENCY),
): Clients => {
  const options = httpOptions(settings, http);
  return {
    limits,
    hg: new HgClient(new Http(limits, options), settings.ALLOWED_HOSTS),
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
