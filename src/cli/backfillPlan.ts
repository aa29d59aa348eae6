import type { HgClient } from '../clients/hgmo.js';
import { describeError } from '../errors.js';
import { confirm } from './confirm.js';
import { EXIT, fail } from './program.js';

export interface BackfillPlan {
  /** The last push to process: the range's end, or the repository's newest push. */
  readonly last: number;
  readonly pushes: number;
}

/**
 * Says which pushes a backfill will process and where the pings go, and asks before it starts
 * (unless `--yes`). Exits 0 when there is nothing to do, 1 when the pushlog cannot be read or
 * the answer is no.
 */
export const planBackfill = async (
  name: string,
  hg: HgClient,
  range: { repository: string; start: number; end: number },
  destination: string,
  ask: boolean,
): Promise<BackfillPlan> => {
  const { repository, start, end } = range;
  const lastPushId = await hg.pushlogPage(repository, start, start).then(
    (page) => page.lastpushid,
    (error: unknown) =>
      fail(name, `cannot read the pushlog of ${repository}: ${describeError(error)}`, EXIT.failed),
  );
  const last = Math.min(end, lastPushId);
  if (last <= start) {
    process.stderr.write(
      `${repository}: no push after ${start} (its newest push is ${lastPushId}); nothing to do.\n`,
    );
    process.exit(EXIT.ok);
  }
  const endNote = end > lastPushId ? ` (the repository ends at push ${lastPushId})` : '';
  process.stderr.write(
    `${repository}: pushes ${start + 1} to ${last}, ${last - start} pushes${endNote}; ${destination}.\n`,
  );
  if (ask && !(await confirm('Proceed?'))) fail(name, 'not confirmed; nothing done.', EXIT.failed);
  return { last, pushes: last - start };
};
