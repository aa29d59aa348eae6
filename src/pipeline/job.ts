import type { Changeset } from '../codecs/changeset.js';
import type { Ping, ReviewSystem } from '../codecs/ping.js';
import type { PipelineError } from '../errors.js';

/** What a source hands the pipeline: a message to decode, a known push, or one changeset. */
export type JobInput =
  | { readonly kind: 'message'; readonly body: Buffer | string }
  | {
      readonly kind: 'push';
      readonly repository: string;
      readonly pushId: number;
      readonly nodes: readonly string[];
    }
  | { readonly kind: 'changeset'; readonly repository: string; readonly node: string };

/** The result for one changeset of a job, or for the whole job when it never got that far. */
export type Outcome =
  | {
      readonly status: 'sent';
      readonly node: string;
      readonly reviewSystem: ReviewSystem;
      readonly ping: Ping;
    }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly node?: string; readonly error: PipelineError };

export interface JobOutcome {
  readonly job: Job;
  readonly outcomes: readonly Outcome[];
  /** The push the job was about, once known. */
  readonly push?: { readonly repository: string; readonly pushId: number };
}

/**
 * One unit of work from a source. The pipeline calls `settle` exactly once, after every
 * changeset of the job has reached the sink or failed; a Pulse job acks there, a backfill
 * job records progress.
 */
export interface Job {
  /** For logs: `message 12`, `push 64752`, `changeset 62a578a28fe9`. */
  readonly label: string;
  readonly input: JobInput;
  readonly receivedAt: number;
  settle(result: JobOutcome): Promise<void> | void;
}

/** The push a job is about, once its changesets are known. */
export interface PushRef {
  readonly repository: string;
  readonly pushId: number;
}

/** One changeset on its way through the pipeline. */
export interface ChangesetWork {
  readonly push: PushRef | undefined;
  readonly repository: string;
  readonly changeset: Changeset;
}

export interface ClassifiedWork extends ChangesetWork {
  readonly reviewSystem: ReviewSystem;
}

export interface PingWork extends ClassifiedWork {
  readonly ping: Ping;
}

/**
 * One line per failed changeset, as logs and parked messages show it; a failure of the whole
 * job (no changeset known) is named `whole`.
 */
export const failureLines = (result: JobOutcome, whole: string): string[] =>
  result.outcomes.flatMap((o) =>
    o.status === 'failed' ? [`${o.node ?? whole}: ${o.error.message}`] : [],
  );
