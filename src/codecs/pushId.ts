import * as t from 'io-ts';

export interface PushIdBrand {
  readonly PushId: unique symbol;
}

/**
 * A push of a pushlog: a whole number from 1 (hg's first push) to 2^53 - 1. Anything else in a
 * message names no push there can be, and a number past 2^53 is no longer exact in JavaScript
 * (nor storable: SQLite would keep it as a REAL, PostgreSQL's bigint refuses it).
 */
export const PushId = t.brand(
  t.number,
  (n): n is t.Branded<number, PushIdBrand> => Number.isSafeInteger(n) && n >= 1,
  'PushId',
);
export type PushId = t.TypeOf<typeof PushId>;

/** What a failed PushId check says it wanted, in a decode report. */
export const PUSH_ID_EXPECTED = `a push id (a whole number from 1 to ${Number.MAX_SAFE_INTEGER})`;

/** PushId under a name a person reads in a decode report: `expected a push id (...)`. */
export const PushIdField = new t.Type<PushId, number, unknown>(
  PUSH_ID_EXPECTED,
  PushId.is,
  (input, context) => PushId.validate(input, context),
  (id) => id,
);

/** A value that should have been a push id and is not, where the store would write it. */
export class InvalidPushId extends RangeError {
  override readonly name = 'InvalidPushId';
  constructor(readonly value: unknown) {
    super(`push id ${String(value)} is not ${PUSH_ID_EXPECTED}; nothing was written`);
  }
}

/** `value` as a PushId, or an InvalidPushId. */
export const checkedPushId = (value: number): PushId => {
  if (!PushId.is(value)) throw new InvalidPushId(value);
  return value;
};
