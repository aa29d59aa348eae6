import { catchError, isObservable, map, mergeMap, of, type Observable } from 'rxjs';
import type { BugzillaClient } from '../clients/bugzilla.js';
import type { HgClient } from '../clients/hgmo.js';
import type { Sink } from '../sinks/sink.js';
import { claim } from './operators/claim.js';
import { classify } from './operators/classify.js';
import { encodePing } from './operators/encodePing.js';
import { failedOutcome } from './failure.js';
import { fetchChangesets } from './operators/fetchChangesets.js';
import type { InFlightSends } from './inFlightSends.js';
import type { ChangesetRef, Job, JobOutcome, Outcome } from './job.js';
import type { LedgerPolicy } from './ledger.js';
import { listChangesets } from './operators/listChangesets.js';
import { mergePulled } from './operators/mergePulled.js';
import type { GitForge, Ledger } from './ports.js';
import { recordPush } from './operators/recordPush.js';
import { send } from './operators/send.js';
import { settle } from './operators/settle.js';

export interface PipelineDeps {
  readonly hg: Pick<HgClient, 'pushlogPage' | 'changeset' | 'diffstat'>;
  /** git repositories (GitHub): the forge of a repository URL on GITHUB_WEB_URL's host. */
  readonly git?: GitForge | undefined;
  readonly bugzilla: Pick<BugzillaClient, 'bug'>;
  readonly sink: Sink;
  /** The durable store, or `dryRunLedger` for a run that sends nothing. */
  readonly ledger: Ledger;
  readonly policy: LedgerPolicy;
  /** The pings being sent, when the worker runs the pipeline: it waits for them at a stop. */
  readonly sends?: InFlightSends | undefined;
}

/**
 * How much is in flight at once. The per-host cap limits requests; these limit what is held
 * between them (json-revs, pings), so a merge push of thousands of changesets takes no more
 * memory than a small one: at most `jobs` x `changesetsPerJob` changesets in flight in all.
 */
export interface PipelineBounds {
  readonly jobs: number;
  readonly changesetsPerJob: number;
}

export const DEFAULT_BOUNDS: PipelineBounds = { jobs: 16, changesetsPerJob: 8 };

/** A source: pushed at us (Pulse), or read as we have room (pushlog pages, a recorded file). */
export type JobSource = Observable<Job> | AsyncIterable<Job>;

/** A claimed changeset from json-rev to the sink; a failure releases the claim. */
const work = (deps: PipelineDeps, ref: ChangesetRef): Observable<Outcome> =>
  of(ref).pipe(
    fetchChangesets(deps),
    classify(deps),
    encodePing(deps),
    send(deps),
    catchError(async (error: unknown) => {
      await deps.ledger.release(ref).catch(() => undefined);
      return failedOutcome(ref.node, error);
    }),
  );

/** One changeset: claimed (or found sent, or held elsewhere), then worked; any failure is its outcome. */
const changesetOutcome =
  (deps: PipelineDeps) =>
  (ref: ChangesetRef): Observable<Outcome> =>
    of(ref).pipe(
      claim(deps),
      mergeMap((claimed) => ('outcome' in claimed ? of(claimed.outcome) : work(deps, ref))),
      catchError((error: unknown) => of(failedOutcome(ref.node, error))),
    );

/** A changeset the listing gave, or the error that ended the listing. */
type Listed = { readonly ref: ChangesetRef } | { readonly error: unknown };

/**
 * One job: its changesets, a bounded number at a time, then its outcome. A listing that fails
 * (a push the pushlog lacks; a git compare whose later page fails) fails the whole job, but
 * only once the changesets it listed before are done: cut off in flight, they would keep the
 * claims they took, renewed by this process for as long as it lives, and every retry of the
 * push would find them held.
 */
const jobOutcome =
  (deps: PipelineDeps, bounds: PipelineBounds) =>
  (job: Job): Observable<JobOutcome> =>
    of(job).pipe(
      listChangesets(deps),
      map((ref): Listed => ({ ref })),
      catchError((error: unknown) => of<Listed>({ error })),
      mergeMap(
        (listed) =>
          'error' in listed
            ? of(failedOutcome(undefined, listed.error))
            : changesetOutcome(deps)(listed.ref),
        bounds.changesetsPerJob,
      ),
      settle(job),
      recordPush(deps),
    );

/**
 * The one pipeline every source feeds:
 * list changesets -> claim -> fetch changesets -> classify -> encode ping -> send -> settle
 * -> record push.
 * Emits one outcome per job, once every changeset of it was sent, skipped or failed.
 */
export const pipeline =
  (deps: PipelineDeps, bounds: PipelineBounds = DEFAULT_BOUNDS) =>
  (jobs: JobSource): Observable<JobOutcome> =>
    isObservable(jobs)
      ? jobs.pipe(mergeMap(jobOutcome(deps, bounds), bounds.jobs))
      : mergePulled(jobs, bounds.jobs, jobOutcome(deps, bounds));
