/**
 * URLs with a password, got wrong the ways an operator gets them wrong, for the tests that
 * check the password is never printed.
 */

/** Distinctive parts of the password: none may appear in anything printed. */
export const PASSWORD_PARTS = ['Zq7s3cr', 'Xp9et', 'Wv4pw', 'Ky2dMn', 'Bt6hj'] as const;
const [a, b, c, d, e] = PASSWORD_PARTS;

/** Every character a password may hold unencoded by mistake, between the parts. */
export const PASSWORD = `${a}/${b}#${c}?${d}@${e}`;
/** With no host after it, an `@` in the password would read as the host's start: none here. */
export const PASSWORD_NO_AT = `${a}/${b}#${c}?${d}`;

/** `value` with the password shown as `<password>`, for a test's title. */
export const titled = (value: string): string =>
  value.replace(PASSWORD, '<password>').replace(PASSWORD_NO_AT, '<password>');

/** The password where nothing should be found: the first part printed, or undefined. */
export const leakedPart = (printed: string): string | undefined =>
  PASSWORD_PARTS.find((part) => printed.includes(part));

/** The ways to get a URL with a password wrong, for one scheme and host. */
export const brokenUrls = (scheme: string, host: string, path = '') => ({
  /** Unencoded / # ? @: the value is not the URL it seems. */
  unencoded: `${scheme}://telemetry:${PASSWORD}@${host}${path}`,
  /** Parses as host `telemetry`, port 12, and a path holding the rest. */
  portLike: `${scheme}://telemetry:12/${PASSWORD}@${host}${path}`,
  /** Mistyped schemes. */
  extraLetter: `${scheme}s://telemetry:${PASSWORD}@${host}${path}`,
  oneSlash: `${scheme}:/telemetry:${PASSWORD}@${host}${path}`,
  noSlash: `${scheme}:telemetry:${PASSWORD}@${host}${path}`,
  /** No host at all. */
  noHost: `${scheme}://telemetry:${PASSWORD_NO_AT}`,
});
