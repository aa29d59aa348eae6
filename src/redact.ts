/**
 * Keeping credentials out of anything printed: log lines, error messages, decode reports.
 * A leaf module (no imports) so that errors, codecs and the logger can all share it.
 */

/** What a masked value is replaced with. */
export const MASK = '[***]';

/**
 * The userinfo of a URL: after `//`, everything up to the last `@` before the host ends (`/`,
 * `?`, `#`, whitespace, a double quote, `<`, `>` or a backslash). Matching up to the last `@`
 * masks a password with a stray unencoded `@` whole; stopping at `/` leaves an `@` further down
 * a path alone. A `'` may be in a password (URLs leave it unencoded), so it does not stop it.
 * The scheme is not part of the match, so it stays, and `//user@host` without one is masked too.
 */
const URL_USERINFO = /\/\/[^\s/?#@"<>\\]*(?:@[^\s/?#@"<>\\]*)*@/g;

/** `scheme://user:password@host` and `scheme://token@host` become `scheme://***@host`. */
export const maskUrlCredentials = (text: string): string =>
  text.includes('@') ? text.replace(URL_USERINFO, '//***@') : text;

/**
 * Keys whose values are credentials whatever they hold: `password`, `PULSE_PASSWORD`, `Cookie`,
 * `GITHUB_TOKEN`...
 */
export const isCredentialKey = (key: string): boolean =>
  /passw(?:or)?d|authorization|cookie|token/i.test(key);

/**
 * A registered secret this short (e.g. Pulse's `guest`) would also match user names, queue
 * names and paths; it is masked only where it sits in a credential's place.
 */
export const FREE_TEXT_SECRET_MIN_LENGTH = 8;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Masks URL credentials and the given secrets in text. Every secret is masked where it is the
 * password of a `user:secret@host` (with or without a scheme); one of
 * FREE_TEXT_SECRET_MIN_LENGTH characters or more is masked wherever it appears.
 */
export const secretMasker = (secrets: readonly string[]): ((text: string) => string) => {
  const forms = [...new Set(secrets.flatMap((s) => (s === '' ? [] : [s, encodeURIComponent(s)])))]
    // Longest first, so that a secret containing another one is masked whole.
    .sort((a, b) => b.length - a.length);
  if (forms.length === 0) return maskUrlCredentials;
  const anywhere = forms.filter((s) => s.length >= FREE_TEXT_SECRET_MIN_LENGTH).map(escapeRegExp);
  const asPassword = forms.map(escapeRegExp);
  const patterns = [
    new RegExp(`[^\\s/:@"'<>]+:(?:${asPassword.join('|')})@`, 'g'),
    ...(anywhere.length > 0 ? [new RegExp(anywhere.join('|'), 'g')] : []),
  ];
  return (text) => {
    let masked = maskUrlCredentials(text);
    masked = masked.replace(patterns[0]!, '***@');
    if (patterns[1] !== undefined) masked = masked.replace(patterns[1], MASK);
    return masked;
  };
};

/**
 * A setting's value as it may be printed when it is refused, for a value that may not even be
 * a URL (an unencoded `/`, `?`, `#` or `@` in the password, `postgress://`, `postgres:/`):
 * a parser cannot say where its password ends, so this does not parse. Everything between the
 * scheme (with whatever slashes follow it) and the last `@` goes; with no `@`, a `:` in the
 * host part that is not followed by a port hides all that follows it (`postgres://user:pw`).
 * It hides too much rather than too little: a user name, or a path with an `@`, goes with it.
 */
export const maskSettingValue = (value: string): string => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/+/i.exec(value)?.[0] ?? '';
  const rest = value.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) return `${scheme}***${rest.slice(at)}`;
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  // An IPv6 host's own colons are inside its brackets.
  const hostEnd = authority.startsWith('[') ? authority.indexOf(']') + 1 : 0;
  const colon = authority.indexOf(':', hostEnd);
  if (colon < 0 || /^\d*$/.test(authority.slice(colon + 1))) return value;
  return `${scheme}${authority.slice(0, colon)}:***`;
};
