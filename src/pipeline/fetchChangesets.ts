import {
  catchError,
  defer,
  from,
  mergeMap,
  of,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import type { HgClient } from '../clients/hgmo.js';
import { PipelineError } from '../errors.js';
import type { ChangesetWork, PushRef } from './job.js';
import type { Target } from './decode.js';
import { failedStep, type Step } from './step.js';

export interface FetchChangesetsDeps {
  readonly hg: HgClient;
}

/** The push's changesets as its pushlog entry lists them (DAG order, tip-most last). */
const nodesOfPush = async (hg: HgClient, push: PushRef, pushJsonUrl: string) => {
  const page = await hg.pushlogPageAt(pushJsonUrl);
  const entry = page.pushes[String(push.pushId)];
  if (entry === undefined) {
    throw new PipelineError(`push ${push.pushId} is not in ${pushJsonUrl}`, 'permanent');
  }
  return entry.changesets;
};

const nodesOf = (hg: HgClient, target: Target): Promise<readonly string[]> => {
  switch (target.kind) {
    case 'pushlog':
      return nodesOfPush(hg, target.push, target.pushJsonUrl);
    case 'push':
      return Promise.resolve(target.nodes);
    case 'changeset':
      return Promise.resolve([target.node]);
  }
};

/** One step per changeset of the list, each carrying its json-rev or its failure. */
const fanOut = (
  hg: HgClient,
  step: Step<Target>,
  push: PushRef | undefined,
  repository: string,
  nodes: readonly string[],
): Observable<Step<ChangesetWork>> => {
  if (nodes.length === 0) {
    const reason = 'push has no changesets';
    return of({ job: step.job, parts: 1, push, outcome: { status: 'skipped', reason } });
  }
  const part = { job: step.job, parts: nodes.length, push };
  return from(nodes).pipe(
    mergeMap((node) =>
      hg.changeset(repository, node).then(
        (changeset): Step<ChangesetWork> => ({ ...part, value: { push, repository, changeset } }),
        (error: unknown) => failedStep(part, error, node),
      ),
    ),
  );
};

/**
 * Fans a job out into one step per changeset, each carrying its json-rev. A push's list of
 * changesets comes from the message's pushlog URL, or from the job itself (backfill).
 */
export const fetchChangesets =
  ({ hg }: FetchChangesetsDeps): OperatorFunction<Step<Target>, Step<ChangesetWork>> =>
  (steps) =>
    steps.pipe(
      mergeMap((step): Observable<Step<ChangesetWork>> => {
        if ('outcome' in step) return of(step);
        const target = step.value;
        const push = target.kind === 'changeset' ? undefined : target.push;
        const repository = target.kind === 'changeset' ? target.repository : target.push.repository;
        return defer(() => nodesOf(hg, target)).pipe(
          mergeMap((nodes) => fanOut(hg, step, push, repository, nodes)),
          catchError((error: unknown) => of(failedStep({ ...step, push }, error))),
        );
      }),
    );
