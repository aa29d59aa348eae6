/** The settings each command reads, for its `--help`; the README's table says the same. */
export const SETTINGS_HELP = `
Settings (environment variables, or a .env file in the working directory):
  BMO_API_URL          Bugzilla REST API (default https://bugzilla.mozilla.org/rest)
  ALLOWED_HOSTS        hosts whose URLs may be fetched when they come from input, comma-separated
                       host or host:port, no :80 or :443 (default hg.mozilla.org,github.com)
  HTTP_CONCURRENCY     most requests in flight per host (default 8)
  STREAM_DEADLINE_SECONDS  most seconds a streamed download (json-rev, a patch) may take,
                       body included, before it is cut off and retried (default 300)
  MAX_ANSWER_MB        most MiB of an answer held in memory; a larger one fails for good
                       (default 32)
  DEBUG                true to log every request and decision (same as --debug)
  LOG_LEVEL            debug, info, warn or error: the least severe lines logged (default: the
                       command's own; --debug and DEBUG=true win); NO_COLOR turns colours off
  BREAKER_FAILURES     failures of distinct requests in a row (or answers with the same 4xx)
                       after which a host is taken for down: the worker pauses, a backfill
                       waits (1 to 1000, default 5)
  BREAKER_PROBE_SECONDS  how often a host taken for down is probed (default 15)
  GITHUB_WEB_URL       git repository URLs are <GITHUB_WEB_URL>/<owner>/<repo>/tree/<branch>
                       (default https://github.com)
  GITHUB_API_URL       the GitHub REST API, the only host asked about git (default
                       https://api.github.com; https://host/api/v3 for GitHub Enterprise)
  GITHUB_TOKEN         sent to the GitHub API as a bearer token (never logged)
  GITHUB_BRANCHES      landing branches, comma-separated names or * globs
                       (default main,autoland,beta,release,esr*)`;

export const TELEMETRY_HELP = `
  TMO_BASE_URL         telemetry ingestion (default https://incoming.telemetry.mozilla.org/submit)
  TMO_PING_NAMESPACE   ping namespace (default eng-workflow)
  TMO_PING_DOCTYPE     ping document type (default hgpush)
  TMO_PING_DOCVERSION  ping document version (default 1)
  DATABASE_URL         the store of pings sent: sqlite:PATH (one process) or postgres://...
                       (a fleet) (default sqlite:commit-telemetry.sqlite; not read with --no-send)
  CLAIM_LEASE_SECONDS  how long a claim on a changeset lasts unless renewed (default 60)`;

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
  GITHUB_PUSH_ROUTING_KEY  when set, the same queue is also bound to GITHUB_PUSH_EXCHANGE
                       with this key, e.g. primary.mozilla-firefox.firefox (default: unset)
  GITHUB_PUSH_EXCHANGE taskcluster-github's push exchange
                       (default exchange/taskcluster-github/v1/push)
  RETRY_MAX_HOURS      how long after its first failure a failing message is still retried
                       through the delay queues (default 24); then it is parked
  METRICS_PORT, PORT   serve /metrics and /healthz on this port (METRICS_PORT wins)
  PROMETHEUS_PUSHGATEWAY_URL  also push the metrics to this Prometheus Pushgateway (http(s);
                       user:password@ is basic auth, never logged) as job commit-telemetry,
                       instance $DYNO (else the host name); the group is deleted at stop
                       (default: no push)
  PROMETHEUS_PUSH_SECONDS  seconds between two pushes (1 to 3600, default 15)`;

export const TARGET_REPO_HELP = `
  TARGET_REPO          default for --target-repo`;

export const GAP_FILL_HELP = `
  PUSHLOG_POLL_SECONDS  how often the worker reads the pushlog of each repository it has a
                       watermark for, and the head of each followed git branch, to send the
                       pushes it missed (a lost queue, a dropped message); 0 turns both off
                       (default 300; not with --no-send or --replay-failed)
  PUSHLOG_GRACE_SECONDS how long a push must stay unsettled after the poller first saw it
                       before the worker sends it from the pushlog (default 120)`;
