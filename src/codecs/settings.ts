import * as t from 'io-ts';
import { maskSettingValue } from '../redact.js';
import { repositoryUrl } from './scalars.js';

/** Environment variables are strings or absent; `withDefault` stands in for absent or empty. */
const withDefault = <A, O>(codec: t.Type<A, O, unknown>, fallback: A): t.Type<A, O, unknown> =>
  new t.Type<A, O, unknown>(
    codec.name,
    codec.is,
    (input, context) =>
      input === undefined || input === '' ? t.success(fallback) : codec.validate(input, context),
    codec.encode,
  );

/** An optional setting with no default: absent or empty means unset (undefined). */
const orUnset = <A, O>(
  codec: t.Type<A, O, unknown>,
): t.Type<A | undefined, O | undefined, unknown> =>
  new t.Type<A | undefined, O | undefined, unknown>(
    codec.name,
    (u): u is A | undefined => u === undefined || codec.is(u),
    (input, context) =>
      input === undefined || input === '' ? t.success(undefined) : codec.validate(input, context),
    (a) => (a === undefined ? undefined : codec.encode(a)),
  );

/**
 * A setting read from its string. A refused value is what the error message repeats: a
 * setting that may hold a password (a URL, or a URL where a host was asked for) is masked
 * first, without parsing, since a value refused is one that may not parse.
 */
const fromString = <A>(
  name: string,
  parse: (s: string) => A | undefined,
  { secret = false }: { secret?: boolean } = {},
) =>
  new t.Type<A, string, unknown>(
    name,
    (u): u is A => u !== undefined,
    (input, context) => {
      const parsed = typeof input === 'string' ? parse(input.trim()) : undefined;
      if (parsed !== undefined) return t.success(parsed);
      const shown = secret && typeof input === 'string' ? maskSettingValue(input.trim()) : input;
      return t.failure(shown, context);
    },
    String,
  );

export const NonEmptyString = fromString('a non-empty string', (s) => (s === '' ? undefined : s));

export const IntFromString = (min: number, max: number) =>
  fromString(`an integer from ${min} to ${max}`, (s) => {
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  });

export const BooleanFromString = fromString('true or false (also 1/0, yes/no)', (s) => {
  const v = s.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return undefined;
});

/** `s` parsed, if it is an http(s) URL. */
const webUrl = (s: string): URL | undefined => {
  try {
    const url = new URL(s);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
};

/**
 * An http(s) URL, kept without its trailing slash so paths can be appended. No
 * `user:password@`: it would be repeated in every error message that names the URL. No `@`
 * anywhere either: `https://user:12/pw@host` parses as host `user`, port 12 and a path, so a
 * password with an unencoded `/` would pass for a URL without one.
 */
export const HttpUrlFromString = fromString(
  'an http(s) URL without user:password@',
  (s) => {
    const url = webUrl(s);
    return url && !s.includes('@') ? repositoryUrl(s) : undefined;
  },
  { secret: true },
);

/**
 * Whether every `@` of `s` is in its `user:password@`: a `/`, `?` or `#` before the last `@`
 * means a password with one of them unencoded (or an `@` in a path), which no parser reads
 * the way it was meant.
 */
const atOnlyInUserinfo = (s: string): boolean => {
  const rest = s.slice(s.indexOf('//') + 2);
  return !/[/?#]/.test(rest.slice(0, Math.max(rest.lastIndexOf('@'), 0)));
};

/** Characters a URL cannot hold unencoded, which would also end the log's masking early. */
const hasUnsafeCharacters = (s: string): boolean => /[\s"<>\\]/.test(s);

/**
 * The Pushgateway's address: an http(s) URL without query or fragment, kept without its
 * trailing slash (the client appends `/metrics/job/...`). Unlike HttpUrlFromString it may
 * carry `user:password@`, sent as basic auth: a gateway reachable from Heroku is on the
 * internet and should ask for it. Decode reports and log lines mask it.
 */
export const PushgatewayUrlFromString = fromString(
  'an http(s) URL without ?query or #fragment (percent-encode "/", "?", "#", "@" in user:password@)',
  (s) => {
    const url = webUrl(s);
    return url &&
      url.search === '' &&
      url.hash === '' &&
      atOnlyInUserinfo(s) &&
      !hasUnsafeCharacters(s)
      ? repositoryUrl(s)
      : undefined;
  },
  { secret: true },
);

/** How much a command logs: `debug`, `info`, `warn` or `error` (any case). */
export const LogLevelFromString = fromString('debug, info, warn or error', (s) => {
  const level = s.toLowerCase();
  return level === 'debug' || level === 'info' || level === 'warn' || level === 'error'
    ? level
    : undefined;
});

/** LOG_LEVEL, or undefined when it is unset or empty (each command then has its own). */
const LogLevelOrUnset = orUnset(LogLevelFromString);

/** One URL path segment, such as a telemetry namespace. */
export const PathSegment = fromString('letters, digits, "-", "_" or "."', (s) =>
  /^[A-Za-z0-9._-]+$/.test(s) ? s : undefined,
);

/** `host` or `host:port`, comma-separated, e.g. `hg.mozilla.org,127.0.0.1:8080`. */
export const HostList = fromString(
  'comma-separated host or host:port entries',
  (s) => {
    const hosts = s
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    const valid = hosts.every((h) =>
      /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/.test(h),
    );
    return valid && hosts.length > 0 ? hosts : undefined;
  },
  { secret: true },
);

/**
 * A host name or address alone (the broker's port and scheme are settings of their own), so
 * that a URL with `user:password@` put here is refused, masked, rather than printed in every
 * "cannot connect" line.
 */
export const HostName = fromString(
  'a host name or address, without scheme, port or user:password@',
  (s) =>
    /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$|^[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*$/i.test(s) ? s : undefined,
  { secret: true },
);

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
      ALLOWED_HOSTS: withDefault(HostList, ['hg.mozilla.org']),
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
    METRICS_PORT: IntFromString(1, 65535),
    PORT: IntFromString(1, 65535),
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
 * The worker's gap-fill from the pushlog: how often it polls each repository it has a
 * watermark for (0 turns gap-fill off), and how long a push must stay unsettled, from when
 * the poller first saw it, before gap-fill runs it (a live message usually gets there first).
 */
export const GapFillSettings = t.exact(
  t.type({
    PUSHLOG_POLL_SECONDS: withDefault(IntFromString(0, 86_400), 300),
    PUSHLOG_GRACE_SECONDS: withDefault(IntFromString(0, 86_400), 120),
  }),
);
export type GapFillSettings = t.TypeOf<typeof GapFillSettings>;
