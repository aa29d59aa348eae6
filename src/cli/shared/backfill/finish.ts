import { log } from '../../../log.js';
import type { Store } from '../../../state/index.js';
import type { GiveUpWatch } from '../giveUp.js';
import { EXIT } from '../program.js';
import { closeStore } from '../sinkAndLedger.js';
import { tell } from '../tell.js';
import type { BackfillProgress } from './progress.js';
import { endRun, type StopSignal } from './signals.js';

/** What a backfill (backfill-pushlog, backfill-git) has in hand once its pipeline has run. */
export interface BackfillEnd {
  readonly name: string;
  readonly repository: string;
  readonly progress: BackfillProgress;
  readonly giveUp: GiveUpWatch;
  readonly store: Store | undefined;
  readonly source: { readonly failure: unknown };
  /** What the source reads, for the line that says it stopped: `the pushlog`, `the commits`. */
  readonly reading: string;
  readonly interruptedBy: () => StopSignal | undefined;
  /** Says how to carry on from where the run can resume, if anything is left after it. */
  readonly tellResume: () => void;
}

/**
 * The end of a backfill: the summary, the store closed, why it stopped early if it did, the
 * resume command when something was not done, and the exit status (0 all done, 1 not, or
 * the signal's).
 */
export const finishBackfill = async (end: BackfillEnd): Promise<void> => {
  const { name, progress, giveUp, source } = end;
  progress.stop();
  giveUp.stop();
  progress.printSummary();
  await closeStore(end.store);
  if (source.failure !== undefined) {
    log.error(`stopped reading ${end.reading}`, {
      repository: end.repository,
      error: source.failure,
    });
  }
  if (giveUp.reason !== undefined) {
    tell('error', 'stopped', { reason: giveUp.reason }, `${name}: stopped: ${giveUp.reason}`);
  }
  const signal = end.interruptedBy();
  const incomplete =
    signal !== undefined ||
    source.failure !== undefined ||
    progress.failures.length > 0 ||
    giveUp.reason !== undefined;
  if (incomplete) end.tellResume();
  await endRun(signal, incomplete ? EXIT.failed : EXIT.ok);
};
