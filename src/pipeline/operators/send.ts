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
  /** First wait before writing an accepted ping to the ledger again; it doubles, up to... */
  readonly ledgerRetryMs?: number;
  /** ...this longest wait (default 5 s). */
  readonly ledgerRetryMaxMs?: number;
  /** The worker's: once it stops, no PUT starts, and it waits for those started. */
  readonly sends?: InFlightSends | undefined;
}

/** A warning at the first retry of a ledger write, then at every this many (about a minute). */
const WARN_EVERY = 12;

/**
 * The ping was accepted, so it must reach the ledger: releasing the claim instead would let
 * it be sent again. Tries until the write succeeds or the store is closed (the process is
 * stopping); the claim is kept meanwhile, renewed by the store. But the store cannot renew it
 * while it is down, and past the lease another worker may take the landing as free: the waits
 * stay short (5 s at most), so that the write lands within seconds of the store's return.
 */
const recordAccepted = async (
  ledger: Ledger,
  work: EncodedChangeset,
  waits: { readonly firstMs: number; readonly maxMs: number },
) => {
  const { job, repository, changeset, reviewSystem } = work;
  const pushId = job.target.kind === 'push' ? job.target.pushId : null;
  const untilRecorded = retry(
    handleWhen((error) => !(error instanceof StoreClosed)),
    {
      backoff: new ExponentialBackoff({
        initialDelay: waits.firstMs,
        maxDelay: waits.maxMs,
        generator: noJitterGenerator,
      }),
    },
  );
  untilRecorded.onRetry((retrying) => {
    if ((retrying.attempt - 1) % WARN_EVERY !== 0) return;
    log.warn('ping accepted but not yet in the ledger; retrying', {
      job: job.label,
      node: changeset.node,
      attempt: retrying.attempt,
      error: 'error' in retrying ? retrying.error : undefined,
    });
  });
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
  ledgerRetryMaxMs = 5_000,
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
      await recordAccepted(ledger, work, { firstMs: ledgerRetryMs, maxMs: ledgerRetryMaxMs });
    };
    // No await between the claim check and `run`: a PUT starts tracked by the worker's stop,
    // or not at all.
    await (sends === undefined ? sendAndRecord() : sends.run(node, sendAndRecord));
    return { status: 'sent', node, reviewSystem: work.reviewSystem, ping: work.ping };
  });
