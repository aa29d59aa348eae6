import type { PushlogPage } from '../../codecs/pushlog.js';
import { describeError } from '../../errors.js';
import { confirm } from '../shared/confirm.js';
import { EXIT } from '../shared/program.js';
import { tell } from '../shared/tell.js';

export interface BackfillPlan {
  /** The last push to process: the range's end, or the repository's newest push. */
  readonly last: number;
  readonly pushes: number;
}

/** Says why the backfill cannot go on, as text or as an error event, and exits with `code`. */
const stop = (name: string, msg: string, fields: object, text: string, code: number): never => {
  tell('error', msg, { ...fields }, `${name}: ${text}`);
  process.exit(code);
};

/**
 * Says which pushes a backfill will process and where the pings go (`sendTo`, or stdout when
 * undefined), and asks before it starts (unless `--yes`); the range's first page names the
 * repository's newest push. Exits 0 when there is nothing to do, 1 when the pushlog cannot be
 * read or the answer is no.
 */
export const planBackfill = async (
  name: string,
  firstPage: Promise<PushlogPage>,
  range: { repository: string; start: number; end: number },
  sendTo: string | undefined,
  ask: boolean,
): Promise<BackfillPlan> => {
  const { repository, start, end } = range;
  const newestPush = await firstPage.then(
    (page) => page.lastpushid,
    (error: unknown) =>
      stop(
        name,
        'cannot read the pushlog',
        { repository, error },
        `cannot read the pushlog of ${repository}: ${describeError(error)}`,
        EXIT.failed,
      ),
  );
  const last = Math.min(end, newestPush);
  if (last <= start) {
    tell(
      'info',
      'nothing to do',
      { repository, start, newestPush },
      `${repository}: no push after ${start} (its newest push is ${newestPush}); nothing to do.`,
    );
    process.exit(EXIT.ok);
  }
  const endNote = end > newestPush ? ` (the repository ends at push ${newestPush})` : '';
  const destination =
    sendTo === undefined ? 'pings will be printed, not sent' : `pings will be sent to ${sendTo}`;
  tell(
    'info',
    'plan',
    {
      repository,
      first: start + 1,
      last,
      pushes: last - start,
      newestPush,
      destination: sendTo ?? 'stdout',
    },
    `${repository}: pushes ${start + 1} to ${last}, ${last - start} pushes${endNote}; ${destination}.`,
  );
  if (ask && !(await confirm('Proceed?'))) {
    stop(name, 'not confirmed', {}, 'not confirmed; nothing done.', EXIT.failed);
  }
  return { last, pushes: last - start };
};
