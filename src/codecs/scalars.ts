import * as t from 'io-ts';

export interface NodeBrand {
  readonly Node: unique symbol;
}
/** A full changeset id: 40 lowercase hex characters. */
export const Node = t.brand(
  t.string,
  (s): s is t.Branded<string, NodeBrand> => /^[0-9a-f]{40}$/.test(s),
  'Node',
);
export type Node = t.TypeOf<typeof Node>;

export interface NodePrefixBrand {
  readonly NodePrefix: unique symbol;
}
/** A changeset id as a person may type it: 12 to 40 hex characters. */
export const NodePrefix = t.brand(
  t.string,
  (s): s is t.Branded<string, NodePrefixBrand> => /^[0-9a-fA-F]{12,40}$/.test(s),
  'NodePrefix',
);
export type NodePrefix = t.TypeOf<typeof NodePrefix>;

export const NonNegativeInt = t.brand(
  t.number,
  (n): n is t.Branded<number, { readonly NonNegativeInt: unique symbol }> =>
    Number.isSafeInteger(n) && n >= 0,
  'NonNegativeInt',
);
export type NonNegativeInt = t.TypeOf<typeof NonNegativeInt>;

/** 0 or 1, as Bugzilla writes its flags. */
export const Bit = t.union([t.literal(0), t.literal(1)], '0 or 1');

/**
 * A repository URL as pings and requests use it: without trailing slashes, so that
 * `https://hg.mozilla.org/mozilla-central/` and `.../mozilla-central` are one repository.
 * It is also the repository of a landing's key (the ledger's, the claims', the document id's):
 * whatever else makes two spellings one repository belongs here, so that all of them agree.
 */
export const repositoryUrl = (url: string): string => url.replace(/\/+$/, '');
