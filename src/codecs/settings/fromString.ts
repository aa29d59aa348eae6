/** The codecs that read one setting from its string; the groups are in ../settings.ts. */
import * as t from 'io-ts';
import { maskSettingValue } from '../../redact.js';
import { repositoryUrl } from '../scalars.js';

/** Environment variables are strings or absent; `withDefault` stands in for absent or empty. */
export const withDefault = <A, O>(
  codec: t.Type<A, O, unknown>,
  fallback: A,
): t.Type<A, O, unknown> =>
  new t.Type<A, O, unknown>(
    codec.name,
    codec.is,
    (input, context) =>
      input === undefined || input === '' ? t.success(fallback) : codec.validate(input, context),
    codec.encode,
  );

/** An optional setting with no default: absent or empty means unset (undefined). */
export const orUnset = <A, O>(
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
export const fromString = <A>(
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
export const LogLevelOrUnset = orUnset(LogLevelFromString);

/** One URL path segment, such as a telemetry namespace. */
export const PathSegment = fromString('letters, digits, "-", "_" or "."', (s) =>
  /^[A-Za-z0-9._-]+$/.test(s) ? s : undefined,
);

/** Whether a URL on `host` names it so (the parser may rewrite an address or a port). */
const asUrlNamesIt = (host: string): boolean => {
  try {
    return new URL(`http://${host}`).host === host;
  } catch {
    return false;
  }
};

/**
 * `host` or `host:port`, comma-separated, e.g. `hg.mozilla.org,127.0.0.1:8080`: each as a URL
 * names its host (what the entries are compared with: allowList.ts, the hosts' probes), so
 * without a default port (80, 443: a URL on it names none) and in the URL parser's own form
 * (`[::1]`, not `[0:0:0:0:0:0:0:1]`; `:8080`, not `:08080`). Any other would never match.
 */
export const HostList = fromString(
  'comma-separated host or host:port entries, as a URL names them (no :80 or :443)',
  (s) => {
    const hosts = s
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    const valid = hosts.every(
      (h) =>
        /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/.test(h) &&
        !/:(80|443)$/.test(h) &&
        asUrlNamesIt(h),
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
