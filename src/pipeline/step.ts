import { mergeMap, of, type OperatorFunction } from 'rxjs';
import { PipelineError } from '../errors.js';
import type { Job, Outcome, PushRef } from './job.js';

interface StepBase {
  readonly job: Job;
  /** How many steps the job has become, so `settle` knows when all are accounted for. */
  readonly parts: number;
  readonly push?: PushRef | undefined;
}

/** What travels between operators: a piece of a job, in progress (`value`) or finished. */
export type Step<T> = StepBase & ({ readonly value: T } | { readonly outcome: Outcome });

/** Errors of unknown kind (bugs, surprises) count as transient: retried, then parked, never lost. */
export const asPipelineError = (error: unknown): PipelineError =>
  error instanceof PipelineError
    ? error
    : new PipelineError(error instanceof Error ? error.message : String(error), 'transient', {
        cause: error,
      });

const base = ({ job, parts, push }: StepBase): StepBase => ({ job, parts, push });

export const failedStep = (step: StepBase, error: unknown, node?: string): Step<never> => ({
  ...base(step),
  outcome:
    node === undefined
      ? { status: 'failed', error: asPipelineError(error) }
      : { status: 'failed', node, error: asPipelineError(error) },
});

/** Runs `work` on each step still in progress (concurrently) and answers with the new steps. */
const onValues = <A, B>(
  work: (value: A, step: Step<A>) => Promise<Step<B>>,
  nodeOf: (value: A) => string | undefined,
): OperatorFunction<Step<A>, Step<B>> =>
  mergeMap((step) =>
    'outcome' in step
      ? of(step)
      : work(step.value, step).catch((error: unknown) =>
          failedStep(step, error, nodeOf(step.value)),
        ),
  );

/**
 * Turns each value in progress into the next one; finished steps pass through. A failure
 * becomes the step's outcome, with its changeset when known: it never ends the stream.
 */
export const advance = <A, B>(
  work: (value: A) => Promise<B>,
  nodeOf: (value: A) => string | undefined = () => undefined,
): OperatorFunction<Step<A>, Step<B>> =>
  onValues(async (value, step) => ({ ...base(step), value: await work(value) }), nodeOf);

/** Like `advance`, for the last operator: each value in progress becomes its outcome. */
export const conclude = <A>(
  work: (value: A) => Promise<Outcome>,
  nodeOf: (value: A) => string | undefined = () => undefined,
): OperatorFunction<Step<A>, Step<never>> =>
  onValues(async (value, step) => ({ ...base(step), outcome: await work(value) }), nodeOf);
