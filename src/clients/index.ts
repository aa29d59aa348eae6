import type { TelemetrySettings, UpstreamSettings } from '../codecs/settings.js';
import { BugzillaClient } from './bugzilla.js';
import { HgClient } from './hgmo.js';
import { Http, type HttpOptions } from './http.js';
import { TelemetryClient } from './telemetry.js';

export interface Clients {
  /** Shared by every client, so the in-flight cap holds per host whoever calls it. */
  readonly http: Http;
  readonly hg: HgClient;
  readonly bugzilla: BugzillaClient;
}

/** Builds the clients that read upstream; `http` tunes timeouts and retries (tests). */
export const createClients = (
  settings: UpstreamSettings,
  http: Partial<HttpOptions> = {},
): Clients => {
  const shared = new Http({ concurrency: settings.HTTP_CONCURRENCY, ...http });
  return {
    http: shared,
    hg: new HgClient(shared, settings.ALLOWED_HOSTS),
    bugzilla: new BugzillaClient(shared, settings.BMO_API_URL),
  };
};

/** The telemetry client, for the commands that send. */
export const createTelemetryClient = (http: Http, settings: TelemetrySettings): TelemetryClient =>
  new TelemetryClient(http, {
    baseUrl: settings.TMO_BASE_URL,
    namespace: settings.TMO_PING_NAMESPACE,
    doctype: settings.TMO_PING_DOCTYPE,
    docversion: settings.TMO_PING_DOCVERSION,
  });
