import type { TelemetrySettings, UpstreamSettings } from '../codecs/settings.js';
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

/** Builds the clients that read upstream; `http` tunes timeouts and retries (tests). */
export const createClients = (settings: UpstreamSettings, http: HttpOptions = {}): Clients => {
  const limits = new HostLimits(settings.HTTP_CONCURRENCY);
  return {
    limits,
    hg: new HgClient(new Http(limits, http), settings.ALLOWED_HOSTS),
    bugzilla: new BugzillaClient(new Http(limits, http), settings.BMO_API_URL),
  };
};

/** The telemetry client, for the commands that send, under the same per-host limits. */
export const createTelemetryClient = (
  limits: HostLimits,
  settings: TelemetrySettings,
  http: HttpOptions = {},
): TelemetryClient =>
  new TelemetryClient(new Http(limits, http), {
    baseUrl: settings.TMO_BASE_URL,
    namespace: settings.TMO_PING_NAMESPACE,
    doctype: settings.TMO_PING_DOCTYPE,
    docversion: settings.TMO_PING_DOCVERSION,
  });
