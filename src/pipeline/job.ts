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

/**
 * A push to a git branch: the commits reachable from `head` and not from `base` (GitHub's
 * compare, oldest first). `repository` is the branch's URL, `<web>/<owner>/<repo>/tree/<branch>`
 * (src/rules/gitRepository.ts); `base` and `head` are full 40-hex shas. A single git commit is
 * a ChangesetTarget whose repository is such a URL.
 */
export interface GitPushTarget {
  readonly kind: 'gitPush';
  readonly repository: string;
  readonly base: string;
  readonly head: string;
  /** Its commits oldest first, when its source listed them already (a backfill's compare). */
  readonly commits?: readonly Changeset[];
  /** The push made the branch: base and head are its `after`, and it has no commits. */
  readonly created?: true;
}

export type Target = PushTarget | ChangesetTarget | GitPushTarget;

/** One unit of work, as every source hands it to the pipeline; no source's wire format shows. */
export interface Job {
  /** For logs: `message 12`, `push 64752`, `changeset 62a578a28fe9`. */
  readonly label: string;
  readonly target: Target;
  readonly receivedAt: number;
  /**
   * What the job's source does with its outcome, as a message carries its ack: only jobs
   * that the worker runs (see SettlingJob); a backfill reads the outcomes as they come.
   */
  readonly settle?: (result: JobOutcome) => Promise<void>;
}

/**
 * A job handed to the worker: its source settles it by its outcome (done, retry later, park,
 * defer), and the worker calls `settle` once, whatever the source is.
 */
export type SettlingJob = Job & Required<Pick<Job, 'settle'>>;

/**
 * What a source does with a job (or a message that never became one) once settled:
 * - `ack`: done, every changeset sent now or before;
 * - `defer`: another live process holds one of its changesets, so it is not done here; it
 *   comes back after a short pause, and that is not a failed attempt;
 * - `retry`: a transient failure; it comes back later, as an attempt;
 * - `requeue`: back at once, not an attempt (its hosts are down, or a copy could not be made);
 * - `park`: for an operator.
 */
export type Verdict = 'ack' | 'defer' | 'retry' | 'requeue' | 'park';

/** Why a job or message was parked, as the metrics count it. */
export type ParkReason =
  /** Not an hgpush message we can read, or its repository is on a host not allowed. */
  | 'undecodable'
  /** An hgpush message whose repository is on a host not in ALLOWED_HOSTS. */
  | 'host_not_allowed'
  /** A failure that trying again would not mend: a 4xx but 429, a ping the schema refuses. */
  | 'permanent'
  /** Still failing RETRY_MAX_HOURS after its first failure. */
  | 'too_old'
  /** Failed again when --replay-failed ran it: a replay is one explicit try. */
  | 'replay_failed';

/** What became of one job or message: the line a log and the metrics are made of. */
export interface Settlement {
  readonly label: string;
  /** `skip`: done without work; `hold`: left unsettled (--no-send). */
  readonly action: Verdict | 'skip' | 'hold';
  /** Why it was skipped or parked without reaching the pipeline. */
  readonly reason?: string;
  /** The job's outcome, for those that reached the pipeline. */
  readonly result?: JobOutcome;
  /** `park`: why, in one word. */
  readonly parkReason?: ParkReason;
  /** `retry`: the attempt that failed (1 for the first) and the delay before the next. */
  readonly retry?: { readonly attempt: number; readonly step: string; readonly delayMs: number };
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
  /** The changeset itself, when its listing said all of it (a git compare): not asked again. */
  readonly listed?: Changeset;
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

/** One count of the service's pings metric: changesets of one review system and outcome. */
export interface PingCount {
  /** A review system, or `unclassified`. */
  readonly reviewSystem: string;
  readonly outcome: 'sent' | 'failed' | 'already_sent' | 'held';
  readonly count: number;
}

/**
 * The outcomes as the pings metric counts them: those sent by review system, the others
 * (which got no ping here, so have no review system to show) as `unclassified`.
 */
export const pingCounts = (outcomes: readonly Outcome[]): PingCount[] => [
  ...Object.entries(sentBySystem(outcomes)).map(([system, count]) => ({
    reviewSystem: system,
    outcome: 'sent' as const,
    count,
  })),
  ...(
    [
      ['failed', 'failed'],
      ['skipped', 'already_sent'],
      ['held', 'held'],
    ] as const
  )
    .map(([status, outcome]) => ({
      reviewSystem: 'unclassified' as const,
      outcome,
      count: outcomes.filter((o) => o.status === status).length,
    }))
    .filter(({ count }) => count > 0),
];
