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

/** A `json-pushes?version=2` answer: pushes keyed by push id, and the newest push id. */
export const PushlogPage = t.type(
  {
    lastpushid: t.Int,
    pushes: t.record(t.string, PushlogEntry),
  },
  'PushlogPage',
);
export type PushlogPage = t.TypeOf<typeof PushlogPage>;
