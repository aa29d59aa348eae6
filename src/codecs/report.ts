import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { preview } from '../preview.js';
import { maskUrlCredentials } from '../redact.js';

/**
 * A value that failed its codec, with one readable line per offending field, e.g.
 * `payload.data.pushlog_pushes.0.pushid: expected an integer, got "abc"`.
 */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly what: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid ${what}: ${problems.join('; ')}`);
  }
}

export type Decoded<A> = { ok: true; value: A } | { ok: false; error: DecodeError };

// The value came from input: it is described within 60 characters, never serialised whole
// (JSON.stringify of a value nested thousands deep overflows the stack). A rejected URL may
// carry user:password@; the message must not repeat it.
const show = (value: unknown): string =>
  value === undefined ? 'nothing' : preview(value, 60, maskUrlCredentials);

/** More problems than this are counted, not listed: a reason stays a line a person reads. */
const MAX_PROBLEMS = 10;

type Tagged = { _tag?: string; type?: Tagged };

// Exact, branded and readonly codecs validate through the codec they wrap without a context
// entry of their own, so `t.exact(t.intersection(...))` shows up as the exact type alone.
const unwrap = (type: Tagged): Tagged => {
  let current = type;
  while (
    (current._tag === 'ExactType' ||
      current._tag === 'RefinementType' ||
      current._tag === 'ReadonlyType') &&
    current.type !== undefined
  ) {
    current = current.type;
  }
  return current;
};

// Union and intersection members add numeric keys of their own to the context; they say
// nothing to a reader, so the path stops at the union and names the union's type instead.
const describe = (error: t.ValidationError): string => {
  const keys: string[] = [];
  let expected = error.context[error.context.length - 1]?.type.name ?? 'a value';
  let value = error.value;
  for (let i = 1; i < error.context.length; i += 1) {
    const entry = error.context[i]!;
    const parent = unwrap(error.context[i - 1]!.type as Tagged);
    if (parent._tag === 'UnionType') {
      expected = error.context[i - 1]!.type.name;
      value = error.context[i - 1]!.actual;
      break;
    }
    if (parent._tag !== 'IntersectionType' && entry.key !== '') keys.push(entry.key);
  }
  const path = keys.length > 0 ? keys.join('.') : '(root)';
  return `${path}: ${error.message ?? `expected ${expected}, got ${show(value)}`}`;
};

/**
 * Reports each failure of a decode once, with the path of the field at fault; past
 * MAX_PROBLEMS, how many more there are.
 */
export const reportErrors = (errors: t.Errors): string[] => {
  const problems = new Set<string>();
  let more = 0;
  for (const error of errors) {
    if (problems.size < MAX_PROBLEMS) problems.add(describe(error));
    else more += 1;
  }
  return more > 0 ? [...problems, `and ${more} more`] : [...problems];
};

/** Decodes `input` with `codec`; a failure is a value, never a throw. */
export const decodeWith =
  <C extends t.Mixed>(codec: C, what: string) =>
  (input: unknown): Decoded<t.TypeOf<C>> => {
    const result = codec.decode(input);
    return isLeft(result)
      ? { ok: false, error: new DecodeError(what, reportErrors(result.left)) }
      : { ok: true, value: result.right };
  };
