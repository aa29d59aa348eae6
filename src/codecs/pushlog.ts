import * as t from 'io-ts';
import { Node } from './scalars.js';

export const PushlogEntry = t.type(
  {
    changesets: t.array(Node),
    date: t.number,
    user: t.string,
  },
  'PushlogEntry',
);
export type PushlogEntry = t.TypeOf<typeof PushlogEntry>;

/**
 * A push id as a key of `pushes`: written as hg writes one, in plain decimal from 1 to
 * 2^53 - 1. A key in another form ("01", "1e1", "0x1") names no push a reader can look up
 * again by its number, and two of them may name the same push.
 */
const isPushKey = (key: string): boolean =>
  /^[1-9][0-9]*$/.test(key) && Number.isSafeInteger(Number(key));

/**
 * The pushes of a page by push id. The whole record is refused for one bad key: io-ts drops
 * the keys a record's key codec refuses, and a push dropped without a word is a push lost.
 */
const Pushes = t.refinement(
  t.record(t.string, PushlogEntry),
  (pushes) => Object.keys(pushes).every(isPushKey),
  'pushes keyed by push ids in plain decimal',
);

/** A `json-pushes?version=2` answer: pushes keyed by push id, and the newest push id. */
export const PushlogPage = t.type(
  {
    lastpushid: t.Int,
    pushes: Pushes,
  },
  'PushlogPage',
);
export type PushlogPage = t.TypeOf<typeof PushlogPage>;
