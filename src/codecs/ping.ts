import * as t from 'io-ts';
import { NonNegativeInt, Node } from './scalars.js';

export const ReviewSystem = t.keyof(
  {
    phabricator: null,
    bmo: null,
    mozreview: null,
    no_bug: null,
    review_unneeded: null,
    unknown: null,
    not_applicable: null,
  },
  'ReviewSystem',
);
export type ReviewSystem = t.TypeOf<typeof ReviewSystem>;

export const Diffstat = t.exact(
  t.type({ changedFiles: NonNegativeInt, additions: NonNegativeInt, deletions: NonNegativeInt }),
  'Diffstat',
);
export type Diffstat = t.TypeOf<typeof Diffstat>;

export interface RepositoryUrlBrand {
  readonly RepositoryUrl: unique symbol;
}
/** An http(s) URL with a path and no trailing slash, e.g. https://hg.mozilla.org/mozilla-central */
export const RepositoryUrl = t.brand(
  t.string,
  (s): s is t.Branded<string, RepositoryUrlBrand> => /^https?:\/\/[^/\s]+\/\S*[^/\s]$/.test(s),
  'RepositoryUrl',
);
export type RepositoryUrl = t.TypeOf<typeof RepositoryUrl>;

/**
 * The hgpush ping, schema eng-workflow/hgpush/1. Exact: encoding it drops any key the schema
 * does not know, since ingestion silently discards a ping that does not match.
 */
export const Ping = t.exact(
  t.intersection([
    t.type({
      changesetID: Node,
      reviewSystemUsed: ReviewSystem,
      repository: RepositoryUrl,
    }),
    t.partial({
      diffstat: t.union([Diffstat, t.null]),
      landingSystem: t.union([t.string, t.null]),
      pushDate: NonNegativeInt,
    }),
  ]),
  'Ping',
);
export type Ping = t.TypeOf<typeof Ping>;
