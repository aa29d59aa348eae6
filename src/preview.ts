/**
 * A short, JSON-like description of any value, for error messages and log lines. The value
 * may come from input: nested thousands deep, megabytes long, cyclic. JSON.stringify of such a
 * value overflows the stack or floods a line; this one stops writing once it has `max`
 * characters, so its recursion is never deeper than the text it writes is long.
 * A leaf module (no imports), like redact.ts, so that codecs and the logger can share it.
 */

/** Longer strings are cut before masking: a URL's user:password@ is never that long. */
const MASK_WHOLE_UP_TO = 1024 * 1024;

/** What is shown when even the bounded walk fails (a getter that throws, a revoked Proxy). */
const UNSHOWABLE = '(a value that cannot be shown)';

/**
 * `value` as JSON would write it, cut to `max` characters (the last three `...` when cut).
 * `mask` is applied to every string and key before it is cut, so a credential is never shown
 * in part.
 */
export const preview = (
  value: unknown,
  max = 60,
  mask: (text: string) => string = (text) => text,
): string => {
  let out = '';
  const full = () => out.length > max;
  const put = (text: string): void => {
    out += text.slice(0, max + 1 - out.length);
  };
  const text = (s: string): string => {
    const masked = mask(s.length > MASK_WHOLE_UP_TO ? s.slice(0, MASK_WHOLE_UP_TO) : s);
    return JSON.stringify(masked.slice(0, max + 1));
  };
  const walk = (v: unknown): void => {
    if (full()) return;
    switch (typeof v) {
      case 'string':
        return put(text(v));
      case 'number':
        return put(Number.isFinite(v) ? JSON.stringify(v) : String(v));
      case 'bigint':
        return put(`${v}n`);
      case 'boolean':
        return put(String(v));
      case 'undefined':
      case 'function':
      case 'symbol':
        return put('null');
    }
    if (v === null) return put('null');
    if (v instanceof Date) return put(Number.isNaN(v.getTime()) ? 'null' : `"${v.toISOString()}"`);
    if (Array.isArray(v)) {
      put('[');
      for (let i = 0; i < v.length && !full(); i += 1) {
        if (i > 0) put(',');
        walk(v[i]);
      }
      return put(']');
    }
    put('{');
    let first = true;
    for (const key in v as object) {
      if (full()) break;
      if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
      if (!first) put(',');
      first = false;
      put(`${text(key)}:`);
      walk((v as Record<string, unknown>)[key]);
    }
    put('}');
  };
  try {
    walk(value);
  } catch {
    return UNSHOWABLE;
  }
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
};
