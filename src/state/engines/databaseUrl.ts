/**
 * DATABASE_URL: where the durable store lives. A pure reading of the setting, so that the CLI
 * can refuse a bad value (exit 2) before it connects to anything.
 */
import { maskSettingValue } from '../../redact.js';

export type DatabaseTarget =
  /** `url` is kept whole (password included) for the driver; show it with displayDatabaseUrl. */
  | { readonly engine: 'postgres'; readonly url: string }
  /** `path` as written, relative to the working directory, or `:memory:`. */
  | { readonly engine: 'sqlite'; readonly path: string };

export type Engine = DatabaseTarget['engine'];

export const DEFAULT_DATABASE_URL = 'sqlite:commit-telemetry.sqlite';

export const ACCEPTED_DATABASE_URLS =
  'postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or postgresql://...), ' +
  'sqlite:PATH (a file, relative to the working directory unless absolute), sqlite::memory:, ' +
  `or unset for ${DEFAULT_DATABASE_URL}`;

export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

export type ParsedDatabaseUrl =
  { ok: true; value: DatabaseTarget } | { ok: false; error: DatabaseUrlError };

const refuse = (value: string, why: string): ParsedDatabaseUrl => ({
  ok: false,
  error: new DatabaseUrlError(
    // The refused value may hold a password, and may not parse: masked without parsing.
    `DATABASE_URL ${JSON.stringify(maskSettingValue(value))} ${why}; accepted: ${ACCEPTED_DATABASE_URLS}`,
  ),
});

/** Reads DATABASE_URL; absent or blank means the default SQLite file. */
export const parseDatabaseUrl = (raw: string | undefined): ParsedDatabaseUrl => {
  const value = (raw ?? '').trim();
  if (value === '') return parseDatabaseUrl(DEFAULT_DATABASE_URL);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!value.slice(scheme.length).startsWith('://')) {
      return refuse(value, `is not a URL (expected ${scheme}://...)`);
    }
    // `postgres://u:12/pw@host/db` parses, as host `u`, port 12 and a path: a `/`, `?` or `#`
    // before the last `@` is a password (or user) with it unencoded, and no parser would
    // read it as meant (nor keep it out of its messages).
    const rest = value.slice(scheme.length + 3);
    if (/[/?#]/.test(rest.slice(0, Math.max(rest.lastIndexOf('@'), 0)))) {
      return refuse(
        value,
        'has a "/", "?" or "#" before its last "@": in a user or password, percent-encode ' +
          'them ("/" as %2F, "?" as %3F, "#" as %23, and "@" as %40)',
      );
    }
    if (!URL.canParse(value)) return refuse(value, 'is not a valid URL');
    // Without one, the driver connects to the database named after the user (often
    // `postgres`), and the store's tables would be created there.
    if (/^\/*$/.test(new URL(value).pathname)) {
      return refuse(value, 'names no database (add /DATABASE after the host)');
    }
    return { ok: true, value: { engine: 'postgres', url: value } };
  }
  if (scheme === 'sqlite') {
    const path = value.slice('sqlite:'.length);
    // `sqlite://x` reads as a URL with host x in some tools and as a path in others; rather
    // than guess, ask for the one spelling that means a path.
    if (path.startsWith('//')) return refuse(value, 'is ambiguous (write sqlite:PATH)');
    if (path === '') return refuse(value, 'names no file');
    return { ok: true, value: { engine: 'sqlite', path } };
  }
  if (scheme === undefined) return refuse(value, 'has no scheme');
  return refuse(value, `has an unknown scheme "${scheme}:"`);
};

/** The target as it may be logged: `postgres://user:***@host/db`, `sqlite:PATH`. */
export const displayDatabaseUrl = (target: DatabaseTarget): string => {
  if (target.engine === 'sqlite') return `sqlite:${target.path}`;
  const url = new URL(target.url);
  if (url.password === '') return target.url;
  // Rebuilt from parts rather than edited in place: the password as written may be spelt
  // differently from url.password (percent-encoding), and an edit that misses leaks it.
  return `${url.protocol}//${url.username}:***@${url.host}${url.pathname}${url.search}${url.hash}`;
};

/** The password in its decoded form too, for masking in a database's own messages. */
export const passwordOf = (target: DatabaseTarget): string[] => {
  if (target.engine === 'sqlite') return [];
  const { password } = new URL(target.url);
  if (password === '') return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password];
  }
};
