import { ExponentialBackoff, handleWhen, noJitterGenerator, retry } from 'cockatiel';
import { concatMap, type OperatorFunction } from 'rxjs';
import { PipelineError, StoreClosed } from '../../errors.js';
import { log } from '../../log.js';
import type { Sink } from '../../sinks/sink.js';
import type { InFlightSends } from '../inFlightSends.js';
import type { EncodedChangeset, Outcome } from '../job.js';
import type { Ledger } from '../ports.js';

export interface SendDeps {
  readonly sink: Sink;
  readonly ledger: Ledger;
  /** First wait before writing an accepted ping to the ledger again; it doubles, up to a minute. */
  readonly ledgerRetryMs?: number;
  /** The worker's: once it stops, no PUT starts, and it waits for those started. */
  readonly sends?: InFlightSends | undefined;
}

/**
 * The ping was accepted, so it must reach the ledger: releasing the claim instead would let
 * it be sent again. Tries until the write succeeds or the store is closed (the process is
 * stopping); the claim is kept meanwhile, renewed by the store.
 */
const recordAccepted = async (ledger: Ledger, work: EncodedChangeset, firstWaitMs: number) => {
  const { job, repository, changeset, reviewSystem } = work;
  const pushId = job.target.kind === 'push' ? job.target.pushId : null;
  const untilRecorded = retry(
    handleWhen((error) => !(error instanceof StoreClosed)),
    {
      backoff: new ExponentialBackoff({
        initialDelay: firstWaitMs,
        maxDelay: 60_000,
        generator: noJitterGenerator,
      }),
    },
  );
  untilRecorded.onRetry((retrying) =>
    log.warn('ping accepted but not yet in the ledger; retrying', {
      job: job.label,
      node: changeset.node,
      error: 'error' in retrying ? retrying.error : undefined,
    }),
  );
  return untilRecorded.execute(() =>
    ledger.recordSent({ node: changeset.node, repository, pushId, reviewSystem }),
  );
};

/**
 * Hands each ping to the sink chosen at the edge (telemetry, stdout or memory), if the
 * changeset is still claimed by this process (and, in the worker, it is not stopping), then
 * writes it to the ledger.
 */
export const send = ({
  sink,
  ledger,
  ledgerRetryMs = 500,
  sends,
}: SendDeps): OperatorFunction<EncodedChangeset, Outcome> =>
  concatMap(async (work): Promise<Outcome> => {
    const node = work.changeset.node;
    if (!(await ledger.holdsClaim({ repository: work.repository, node }))) {
      throw new PipelineError(
        `the claim on changeset ${node} ran out before its ping was sent; it will be tried again`,
        'transient',
      );
    }
    const sendAndRecord = async () => {
      await sink.send(work.ping);
      await recordAccepted(ledger, work, ledgerRetryMs);
    };
    // No await between the claim check and `run`: a PUT starts tracked by the worker's stop,
    // or not at all.
    await (sends === undefined ? sendAndRecord() : sends.run(node, sendAndRecord));
    return { status: 'sent', node, reviewSystem: work.reviewSystem, ping: work.ping };
  });
