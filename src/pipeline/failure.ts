import { PipelineError } from '../errors.js';
import type { Outcome } from './job.js';

/**
 * An error of unknown kind (a bug, a surprise) counts as transient: it is retried and, if it
 * lasts, parked with its message; it is never taken for a verdict on the changeset.
 */
export const asPipelineError = (error: unknown): PipelineError =>
  error instanceof PipelineError
    ? error
    : new PipelineError(error instanceof Error ? error.message : String(error), 'transient', {
        cause: error,
      });

/** The outcome of a changeset (or, without a node, of a whole job) that could not be done. */
export const failedOutcome = (node: string | undefined, error: unknown): Outcome =>
  node === undefined
    ? { status: 'failed', error: asPipelineError(error) }
    : { status: 'failed', node, error: asPipelineError(error) };
