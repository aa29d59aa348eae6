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

/** The canonical form itself; repositoryUrl keeps what it answered. */
const canonicalize = (url: string): string => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    return url.replace(/\/+$/, '');
  }
  // The WHATWG parser lower-cases the scheme and host and drops a default port.
  parsed.pathname = parsed.pathname.replace(/\/+$/, '');
  const href = parsed.href;
  return parsed.search === '' && parsed.hash === '' ? href.replace(/\/+$/, '') : href;
};

// Every landing's ledger calls key by its repository, so the same few URLs are canonicalized
// thousands of times in a backfill: each is parsed once (measured: 40 ms of 2.4 s of CPU in
// a 900-changeset backfill went to parsing them again). Bounded, as URLs come from outside;
// a URL longer than any repository's is not kept at all.
const MAX_KNOWN_URLS = 1000;
const MAX_KEPT_URL_LENGTH = 2048;
const canonical = new Map<string, string>();

/**
 * A repository URL in its one canonical form, taken where a URL enters (a Pulse message, a
 * command-line argument, a setting): scheme and host lower-case, the scheme's default port
 * dropped, no trailing slash. `http://LOCALHOST:80/x/` and `http://localhost/x` are one
 * repository. It is also the repository of a landing's key (the ledger's, the claims', the
 * watermark's, the document id's), so all of them agree. Anything that is not an http(s) URL
 * (a bare path) only loses its trailing slashes.
 */
export const repositoryUrl = (url: string): string => {
  if (url.length > MAX_KEPT_URL_LENGTH) return canonicalize(url);
  let known = canonical.get(url);
  if (known === undefined) {
    if (canonical.size >= MAX_KNOWN_URLS) canonical.clear();
    known = canonicalize(url);
    canonical.set(url, known);
  }
  return known;
};

/**
 * A landing (a changeset in a repository) as one string, for a process's own maps and sets:
 * its repository as repositoryUrl spells it, a space (a URL holds none), its node.
 */
export const landingKey = ({
  repository,
  node,
}: {
  readonly repository: string;
  readonly node: string;
}): string => `${repositoryUrl(repository)} ${node}`;
