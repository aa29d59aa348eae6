/**
 * What the pipeline asks of the durable store, declared by the pipeline: src/state implements
 * these (its Store is one), so the pipeline never depends on a store, and a dry run or a test
 * can stand in for it. And what it asks of a forge (hg.mozilla.org, GitHub): the clients
 * implement it.
 */
import type { Changeset } from '../codecs/changeset.js';
import type { Diffstat } from '../codecs/ping.js';

/** Where a repository's changesets are read: hg.mozilla.org's HgClient, the GitHubClient. */
export interface Forge {
  /** One changeset (a git commit reads as one), by node or sha. */
  changeset(repository: string, node: string): Promise<Changeset>;
  /** Its diffstat, as `git diff --numstat` summed. */
  diffstat(repository: string, node: string): Promise<Diffstat>;
}

/** A git forge: it knows its repositories by their host, and lists a push by compare. */
export interface GitForge extends Forge {
  /** Whether the repository URL is this forge's (its host is GITHUB_WEB_URL's). */
  owns(repository: string): boolean;
  /** The commits reachable from `head` and not from `base`, oldest first. */
  compare(repository: string, base: string, head: string): AsyncIterable<Changeset>;
}

/** The forge a repository URL is on: git's when its host is GITHUB_WEB_URL's, else hg's. */
export const forgeOf = <H, G extends Pick<GitForge, 'owns'>>(
  forges: { readonly hg: H; readonly git?: G | undefined },
  repository: string,
): H | G => (forges.git?.owns(repository) === true ? forges.git : forges.hg);

/**
 * A landing: a changeset in a repository, the key of the ledger and of the claims. The same
 * node merged to another repository is another landing, with a ping of its own. `repository`
 * is the URL as the ping carries it (repositoryUrl).
 */
export interface Landing {
  readonly repository: string;
  readonly node: string;
}

/** A landing whose ping was accepted, as the ledger keeps it; null push: sent on its own. */
export interface SentChangeset extends Landing {
  readonly pushId?: number | null;
  readonly reviewSystem: string;
}

/** `claimed`: it is ours to send; `sent`: it is in the ledger; `held`: a live claim of another. */
export type ClaimOutcome = 'claimed' | 'sent' | 'held';

export interface ClaimOptions {
  /** Claim it even if the ledger has it, when recorded before this time (epoch ms): --resend. */
  readonly resendSentBefore?: number | undefined;
}

/** Who works on which landing: a claim is a lease its owner renews while it is alive. */
export interface Claims {
  /** Claims the landing for this process: `claimed`, or `sent` (ledger), or `held` (another). */
  claim(landing: Landing, options?: ClaimOptions): Promise<ClaimOutcome>;
  /** Whether this process still holds a live claim on it: asked just before sending. */
  holdsClaim(landing: Landing): Promise<boolean>;
  /** Drops our claim on it (sending failed); another process may claim it at once. */
  release(landing: Landing): Promise<void>;
}

/** Which landings are sent, and which pushes are settled; with the claims on landings. */
export interface Ledger extends Claims {
  /** Whether the landing is in the ledger: its ping was accepted. */
  isSent(landing: Landing): Promise<boolean>;
  /** Puts it in the ledger (a landing already there keeps its row) and drops our claim, at once. */
  recordSent(sent: SentChangeset): Promise<void>;
  /** The worker saw this push: creates the watermark at the push before, if there is none. */
  startWatermark(repository: string, pushId: number): Promise<void>;
  /** Settles the push, moves an existing watermark over it; answers the watermark, if any. */
  pushSettled(repository: string, pushId: number): Promise<number | undefined>;
}
