import * as t from 'io-ts';
import { Node } from './scalars.js';

/** `[unixtime, offset]`; the UTC time is their sum. */
export const HgDate = t.tuple([t.number, t.number], 'HgDate');

/** A `json-rev/<node>` answer, the fields this service reads. */
export const Changeset = t.intersection(
  [
    t.type({
      node: Node,
      desc: t.string,
      user: t.string,
      parents: t.array(Node),
      pushdate: HgDate,
    }),
    t.partial({
      landingsystem: t.union([t.string, t.null]),
    }),
  ],
  'Changeset',
);
export type Changeset = t.TypeOf<typeof Changeset>;
