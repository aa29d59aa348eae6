import type { Changeset } from '../codecs/changeset.js';
import { Ping, type Diffstat, type ReviewSystem } from '../codecs/ping.js';
import { decodeWith, type Decoded } from '../codecs/report.js';
import { repositoryUrl } from '../codecs/scalars.js';
import { needsDiffstat } from './reviewSystem.js';
import { uuidV5 } from './uuidV5.js';

export interface PingFacts {
  readonly changeset: Changeset;
  readonly repository: string;
  readonly reviewSystem: ReviewSystem;
  /** Required for phabricator and bmo, ignored otherwise. */
  readonly diffstat?: Diffstat | null;
}

const checkPing = decodeWith(Ping, 'ping');

/** Builds the hgpush ping and checks it against the schema, since ingestion drops bad ones. */
export const buildPing = (facts: PingFacts): Decoded<Ping> => {
  const [pushTime, offset] = facts.changeset.pushdate;
  return checkPing({
    changesetID: facts.changeset.node,
    reviewSystemUsed: facts.reviewSystem,
    repository: repositoryUrl(facts.repository),
    diffstat: needsDiffstat(facts.reviewSystem) ? (facts.diffstat ?? null) : null,
    landingSystem: facts.changeset.landingsystem ?? null,
    pushDate: Math.trunc(pushTime + offset),
  });
};

/**
 * The namespace of our document ids. It must never change: a ping sent again (a retry, a
 * --resend) must keep its id, so that ingestion can drop the copy. Generated once, at random.
 */
export const DOCUMENT_ID_NAMESPACE = '15b03f13-ea4b-4140-b8ad-53f44bc1999e';

/**
 * The telemetry document id of a landing: a version 5 UUID of the repository URL and the node.
 * The same for every send of one landing, and another for the same changeset in another
 * repository: ingestion de-duplicates on it, and would otherwise drop mozilla-central's ping of
 * a changeset merged from autoland. A space parts the two, since a URL cannot hold one.
 */
export const documentId = (repository: string, node: string): string =>
  uuidV5(DOCUMENT_ID_NAMESPACE, `${repositoryUrl(repository)} ${node}`);
