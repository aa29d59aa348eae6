import * as t from 'io-ts';
import {
  BooleanFromString,
  HostList,
  HostName,
  HttpUrlFromString,
  IntFromString,
  LogLevelOrUnset,
  NonEmptyString,
  PathSegment,
  PushgatewayUrlFromString,
  orUnset,
  withDefault,
} from './settings/fromString.js';
import { GitHubPulseSettingProps, GitHubSettingProps } from './settings/github.js';

export {
  BooleanFromString,
  HostList,
  HostName,
  HttpUrlFromString,
  IntFromString,
  LogLevelFromString,
  NonEmptyString,
  PathSegment,
  PushgatewayUrlFromString,
} from './settings/fromString.js';
export {
  BranchPatterns,
  DEFAULT_GITHUB_API_URL,
  DEFAULT_GITHUB_BRANCHES,
  DEFAULT_GITHUB_PUSH_EXCHANGE,
  DEFAULT_GITHUB_WEB_URL,
} from './settings/github.js';

export const DEFAULT_STREAM_DEADLINE_SECONDS = 300;
export const DEFAULT_MAX_ANSWER_MB = 32;
export const DEFAULT_RETRY_MAX_HOURS = 24;
export const DEFAULT_BREAKER_FAILURES = 5;
export const DEFAULT_BREAKER_PROBE_SECONDS = 15;

/** Only the variables named here are kept (t.exact), so no other secret of the environment
 * travels with the settings. What every command needs to read hg.mozilla.org and Bugzilla. */
export const UpstreamSettings = t.exact(
  t.intersection([
    t.type({
      BMO_API_URL: withDefault(HttpUrlFromString, 'https://bugzilla.mozilla.org/rest'),
      ALLOWED_HOSTS: withDefault(HostList, ['hg.mozilla.org', 'github.com']),
      HTTP_CONCURRENCY: withDefault(IntFromString(1, 100), 8),
      DEBUG: withDefault(BooleanFromString, false),
    }),
    // Optional in the type only, so that settings built by hand (tests, benchmarks) need not
    // name them: t.partial still runs withDefault, so decoding always fills them in.
    t.partial({
      STREAM_DEADLINE_SECONDS: withDefault(
        IntFromString(1, 86_400),
        DEFAULT_STREAM_DEADLINE_SECONDS,
      ),
      MAX_ANSWER_MB: withDefault(IntFromString(1, 1024), DEFAULT_MAX_ANSWER_MB),
      /** Failures of distinct requests in a row (or the same 4xx) that take a host for down. */
      BREAKER_FAILURES: withDefault(IntFromString(1, 1000), DEFAULT_BREAKER_FAILURES),
      /** How often a host taken for down is probed. */
      BREAKER_PROBE_SECONDS: withDefault(IntFromString(1, 3600), DEFAULT_BREAKER_PROBE_SECONDS),
      /** The least severe lines logged; unset, each command has its own (--debug wins). */
      LOG_LEVEL: LogLevelOrUnset,
      ...GitHubSettingProps,
    }),
  ]),
);
export type UpstreamSettings = t.TypeOf<typeof UpstreamSettings>;

/** Where pings are sent; only the commands that send read these. */
export const TelemetrySettings = t.exact(
  t.type({
    TMO_BASE_URL: withDefault(HttpUrlFromString, 'https://incoming.telemetry.mozilla.org/submit'),
    TMO_PING_NAMESPACE: withDefault(PathSegment, 'eng-workflow'),
    TMO_PING_DOCTYPE: withDefault(PathSegment, 'hgpush'),
    TMO_PING_DOCVERSION: withDefault(PathSegment, '1'),
  }),
);
export type TelemetrySettings = t.TypeOf<typeof TelemetrySettings>;

/** `dump-telemetry`'s repository when `--target-repo` is not given. */
export const TargetRepoSettings = t.exact(
  t.type({
    TARGET_REPO: withDefault(HttpUrlFromString, 'https://hg.mozilla.org/mozilla-central'),
  }),
);
export type TargetRepoSettings = t.TypeOf<typeof TargetRepoSettings>;

/** The Pulse worker's connection; the credentials and queue have no default. */
export const PulseSettings = t.exact(
  t.intersection([
    t.type({
      PULSE_USERNAME: NonEmptyString,
      PULSE_PASSWORD: NonEmptyString,
      PULSE_QUEUE_NAME: NonEmptyString,
      PULSE_QUEUE_ROUTING_KEY: NonEmptyString,
      PULSE_EXCHANGE: withDefault(NonEmptyString, 'exchange/hgpushes/v2'),
      PULSE_HOST: withDefault(HostName, 'pulse.mozilla.org'),
      PULSE_PORT: withDefault(IntFromString(1, 65535), 5671),
      PULSE_SSL: withDefault(BooleanFromString, true),
      PULSE_VHOST: withDefault(NonEmptyString, '/'),
    }),
    // Optional in the type only (settings built by hand need not name it); decoding fills it.
    t.partial({
      /** How long after its first failure a message is still retried; then it is parked. */
      RETRY_MAX_HOURS: withDefault(IntFromString(1, 720), DEFAULT_RETRY_MAX_HOURS),
      ...GitHubPulseSettingProps,
    }),
  ]),
);
export type PulseSettings = t.TypeOf<typeof PulseSettings>;

export const DEFAULT_PUSH_SECONDS = 15;

/**
 * Where metrics and /healthz are served: `METRICS_PORT`, else Heroku's `PORT`, else nowhere;
 * and the Pushgateway the worker pushes its metrics to (a worker dyno cannot be scraped), every
 * `PROMETHEUS_PUSH_SECONDS` (unset: DEFAULT_PUSH_SECONDS). Serving and pushing may both be on.
 */
export const MetricsSettings = t.exact(
  t.partial({
    METRICS_PORT: orUnset(IntFromString(1, 65535)),
    PORT: orUnset(IntFromString(1, 65535)),
    PROMETHEUS_PUSHGATEWAY_URL: orUnset(PushgatewayUrlFromString),
    PROMETHEUS_PUSH_SECONDS: orUnset(IntFromString(1, 3600)),
  }),
);
export type MetricsSettings = t.TypeOf<typeof MetricsSettings>;

/** The durable store; the commands that send read these. */
export const StoreSettings = t.exact(
  t.type({
    DATABASE_URL: withDefault(NonEmptyString, 'sqlite:commit-telemetry.sqlite'),
    CLAIM_LEASE_SECONDS: withDefault(IntFromString(5, 3600), 60),
  }),
);
export type StoreSettings = t.TypeOf<typeof StoreSettings>;

/**
 * The worker's gap-fill: how often it polls each repository it has a watermark for, the
 * pushlogs and the git branches' heads (0 turns gap-fill off), and how long a push must stay unsettled, from when
 * the poller first saw it, before gap-fill runs it (a live message usually gets there first).
 */
export const GapFillSettings = t.exact(
  t.type({
    PUSHLOG_POLL_SECONDS: withDefault(IntFromString(0, 86_400), 300),
    PUSHLOG_GRACE_SECONDS: withDefault(IntFromString(0, 86_400), 120),
  }),
);
export type GapFillSettings = t.TypeOf<typeof GapFillSettings>;
