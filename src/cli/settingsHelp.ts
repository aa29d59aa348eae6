/** The settings each command reads, for its `--help`; the README's table says the same. */
export const SETTINGS_HELP = `
Settings (environment variables, or a .env file in the working directory):
  BMO_API_URL          Bugzilla REST API (default https://bugzilla.mozilla.org/rest)
  ALLOWED_HOSTS        hosts whose URLs may be fetched when they come from input, comma-separated
                       host or host:port (default hg.mozilla.org)
  HTTP_CONCURRENCY     most requests in flight per host (default 8)
  DEBUG                true to log every request and decision (same as --debug)`;

export const TELEMETRY_HELP = `
  TMO_BASE_URL         telemetry ingestion (default https://incoming.telemetry.mozilla.org/submit)
  TMO_PING_NAMESPACE   ping namespace (default eng-workflow)
  TMO_PING_DOCTYPE     ping document type (default hgpush)
  TMO_PING_DOCVERSION  ping document version (default 1)`;

export const PULSE_HELP = `
  PULSE_USERNAME       Pulse user (required)
  PULSE_PASSWORD       Pulse password (required; never logged)
  PULSE_QUEUE_NAME     queue name; the queue is queue/<user>/<name> (required)
  PULSE_QUEUE_ROUTING_KEY  repositories to follow, e.g. integration/autoland or # (required)
  PULSE_EXCHANGE       exchange to bind to (default exchange/hgpushes/v2)
  PULSE_HOST           broker (default pulse.mozilla.org)
  PULSE_PORT           port (default 5671)
  PULSE_SSL            TLS (default true)
  PULSE_VHOST          virtual host (default /)
  METRICS_PORT, PORT   serve /metrics and /healthz on this port (METRICS_PORT wins)`;

export const TARGET_REPO_HELP = `
  TARGET_REPO          default for --target-repo`;
