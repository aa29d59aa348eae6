import type { Job } from '../src/pipeline/job.js';

/**
 * Where a backfill can resume: the highest push such that it and every push before it in the
 * range were processed without failure. Pushes finish out of order; this keeps only the ones
 * handed out and not yet behind the mark.
 */
export class Checkpoint {
  private readonly pending: number[] = [];
  private readonly results = new Map<number, boolean>();
  private blocked = false;

  constructor(private mark: number) {}

  /** The push id to pass as STARTING_PUSHID to carry on. */
  get resumeAfter(): number {
    return this.mark;
  }

  /** The pushes of `jobs`, each noted as handed to the pipeline as it passes. */
  async *issuing(jobs: AsyncIterable<Job>): AsyncGenerator<Job> {
    for await (const job of jobs) {
      if (job.target.kind === 'push') this.issued(job.target.pushId);
      yield job;
    }
  }

  /** Records a push handed to the pipeline; ids arrive in increasing order. */
  issued(pushId: number): void {
    this.pending.push(pushId);
  }

  /** Records a push whose changesets all reached the sink (`ok`) or not. */
  done(pushId: number, ok: boolean): void {
    this.results.set(pushId, ok);
    while (!this.blocked && this.pending.length > 0) {
      const next = this.pending[0]!;
      const state = this.results.get(next);
      if (state === undefined) break;
      if (!state) {
        this.blocked = true;
        break;
      }
      this.pending.shift();
      this.results.delete(next);
      this.mark = next;
    }
  }
}
