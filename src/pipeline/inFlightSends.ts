import { PipelineError } from '../errors.js';

/**
 * The pings being sent, each from its PUT to its ledger write, so that a stopping worker can
 * wait for them before the store closes. Closing the store releases this process's claims
 * and ends every ledger write: a ping telemetry accepts after that is in no ledger and no
 * longer claimed, and the next process, given the message again, would send it a second time.
 * Once closed, no PUT starts: unsubscribing the pipeline does not stop a step already running,
 * so a changeset whose claim check was under way would still reach the sink after the stop.
 */
export class InFlightSends {
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;

  get size(): number {
    return this.running.size;
  }

  /**
   * Runs `sendAndRecord` and keeps it until it ends. Once closed it refuses, as a transient
   * failure before any PUT: nothing is sent, and the job, no longer settled, comes back.
   */
  run<T>(node: string, sendAndRecord: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(
        new PipelineError(
          `the worker is stopping: changeset ${node} was not sent; it will be tried again`,
          'transient',
        ),
      );
    }
    const running = sendAndRecord();
    const forget = () => this.running.delete(running);
    running.then(forget, forget);
    this.running.add(running);
    return running;
  }

  /** Refuses new sends; resolves once those started have ended, sent and recorded or failed. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.allSettled([...this.running]).then(() => undefined);
  }
}
