/**
 * Which pushes of a range are settled, for the pushlog poller: those at or below the
 * repository's watermark, and those settled above it (`pushes`, parked pushes included).
 */
import type { Connection } from './engines/connection.js';

/**
 * The settled pushes in `(after, upTo]`, ascending. `pushes` is read before the watermark:
 * a push the watermark swallows in between (its row deleted) is then covered by the
 * watermark read second, so no settled push is reported unsettled for that reason.
 */
export const settledPushes = (
  conn: Connection,
  repository: string,
  after: number,
  upTo: number,
): Promise<number[]> =>
  conn.run(async (db) => {
    const rows = await db
      .selectFrom('pushes')
      .select('pushId')
      .where('repository', '=', repository)
      .where('pushId', '>', after)
      .where('pushId', '<=', upTo)
      .execute();
    const mark = await db
      .selectFrom('watermarks')
      .select('pushId')
      .where('repository', '=', repository)
      .executeTakeFirst();
    const settled = new Set(rows.map((r) => r.pushId));
    const covered = Math.min(mark?.pushId ?? after, upTo);
    for (let id = after + 1; id <= covered; id += 1) settled.add(id);
    return [...settled].sort((a, b) => a - b);
  });
