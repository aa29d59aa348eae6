import type { Ledger } from './ports.js';

/** The port itself is declared in ports.ts; commands and the worker name it from here. */
export type { Ledger } from './ports.js';

/**
 * How a command uses the ledger, chosen once at its edge:
 * - `whenHeld`: a changeset another live process is working on is `deferred` (the worker
 *   hands its message back for a later try) or `awaited` (a backfill waits for the claim);
 * - `resendSentBefore`: send again what the ledger holds, if its ping was recorded before this
 *   time (epoch ms): a backfill's --resend, as of its start, so that its resume command does
 *   not send a second time what the run itself sent;
 * - `startsWatermarks`: only the worker makes a repository's watermark.
 */
export interface LedgerPolicy {
  readonly whenHeld: 'defer' | 'await';
  readonly resendSentBefore?: number;
  readonly startsWatermarks: boolean;
}

/** A dry run (--no-send, dump-telemetry) neither reads nor writes the store: every ping shows. */
export const dryRunLedger: Ledger = {
  isSent: async () => false,
  claim: async () => 'claimed',
  holdsClaim: async () => true,
  recordSent: async () => undefined,
  release: async () => undefined,
  startWatermark: async () => undefined,
  pushSettled: async () => undefined,
};

/** The ledger part of the pipeline's deps for a dry run. */
export const dryRun: { readonly ledger: Ledger; readonly policy: LedgerPolicy } = {
  ledger: dryRunLedger,
  policy: { whenHeld: 'await', startsWatermarks: false },
};
