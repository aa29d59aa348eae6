import type { Changeset } from '../codecs/changeset.js';
import { Ping, type Diffstat, type ReviewSystem } from '../codecs/ping.js';
import { decodeWith, type Decoded } from '../codecs/report.js';
import { repositoryUrl } from '../codecs/scalars.js';
import { needsDiffstat } from './reviewSystem.js';

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

/** The telemetry document id: the node's first 32 hex characters as an 8-4-4-4-12 UUID. */
export const documentId = (node: string): string =>
  [
    node.slice(0, 8),
    node.slice(8, 12),
    node.slice(12, 16),
    node.slice(16, 20),
    node.slice(20, 32),
  ].join('-');
