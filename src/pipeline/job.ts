import type { Changeset } from '../codecs/changeset.js';
import type { Ping, ReviewSystem } from '../codecs/ping.js';
import type { PipelineError } from '../errors.js';

/** A push: its changesets are listed by the job (backfill) or read from the pushlog (Pulse). */
export interface PushTarget {
  readonly kind: 'push';
  readonly repository: string;
  readonly pushId: number;
  /** In DAG order, tip-most last; absent until someone has read the pushlog. */
  readonly nodes?: readonly string[];
}

/** One changeset, named by its full node or a 12+ character prefix. */
export interface ChangesetTarget {
  readonly kind: 'changeset';
  readonly repository: string;
  readonly node: string;
}

export type Target = PushTarget | ChangesetTarget;

/** One unit of work, as every source hands it to the pipeline; no source's wire format shows. */
export interface Job {
  /** For logs: `message 12`, `push 64752`, `changeset 62a578a28fe9`. */
  readonly label: string;
  readonly target: Target;
  readonly receivedAt: number;
}

/** What became of one changeset of a job, or of the whole job when its changesets are unknown. */
export type Outcome =
  | {
      readonly status: 'sent';
      readonly node: string;
      readonly reviewSystem: ReviewSystem;
      readonly ping: Ping;
    }
  | { readonly status: 'skipped'; readonly node: string; readonly reason: string }
  /** Another live process is working on it: not done here, to be tried again later. */
  | { readonly status: 'held'; readonly node: string }
  | { readonly status: 'failed'; readonly node?: string; readonly error: PipelineError };

/** A job whose every changeset has an outcome: what the pipeline emits, once per job. */
export interface JobOutcome {
  readonly job: Job;
  readonly outcomes: readonly Outcome[];
}

/** One changeset of a job on its way through the operators, gaining a field at each. */
export interface ChangesetRef {
  readonly job: Job;
  readonly repository: string;
  readonly node: string;
}

export interface FetchedChangeset extends ChangesetRef {
  readonly changeset: Changeset;
}

export interface ClassifiedChangeset extends FetchedChangeset {
  readonly reviewSystem: ReviewSystem;
}

export interface EncodedChangeset extends ClassifiedChangeset {
  readonly ping: Ping;
}

/** The push a job is about, or undefined for a single changeset. */
export const pushOf = (job: Job): { repository: string; pushId: number } | undefined =>
  job.target.kind === 'push'
    ? { repository: job.target.repository, pushId: job.target.pushId }
    : undefined;

/**
 * One line per failed changeset, as logs and parked messages show it; a failure of the whole
 * job (its changesets unknown) is named by the job's label.
 */
export const failureLines = (result: JobOutcome): string[] =>
  result.outcomes.flatMap((o) =>
    o.status === 'failed' ? [`${o.node ?? result.job.label}: ${o.error.message}`] : [],
  );

/** How many pings of each review system the outcomes sent. */
export const sentBySystem = (
  outcomes: readonly Outcome[],
): Partial<Record<ReviewSystem, number>> => {
  const counts: Partial<Record<ReviewSystem, number>> = {};
  for (const outcome of outcomes) {
    if (outcome.status === 'sent') {
      counts[outcome.reviewSystem] = (counts[outcome.reviewSystem] ?? 0) + 1;
    }
  }
  return counts;
};
