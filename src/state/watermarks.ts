/**
 * Watermarks: per repository, the highest push such that it and every push before it, since
 * the first push the worker processed there, are settled. A restarted worker resumes after
 * it; a settled push above a gap waits in `pushes` until the gap is settled too.
 */
import { sql, type Kysely } from 'kysely';
import type { PushId } from '../codecs/pushId.js';
import type { Connection } from './engines/connection.js';
import type { ParkRequest, StoreSchema } from './schema/schema.js';

type Db = Kysely<StoreSchema>;

/**
 * A park request whose push id was checked: every write here takes a PushId, so a number that
 * is not one (1e20 would be a REAL in SQLite, out of range for PostgreSQL's bigint) cannot be
 * written; the store checks at its boundary (sqlStore.ts) and refuses it with a clear error.
 */
export type CheckedParkRequest = Omit<ParkRequest, 'pushId'> & { readonly pushId: PushId };

/** Pushes read per round trip while walking over settled pushes. */
const BATCH = 500;

/**
 * Moves the repository's watermark over every contiguous settled push after it, in a write
 * transaction; answers where it stands (undefined: no watermark). Every writer inserts its
 * `pushes` row before it takes the watermark row, and the watermark row is locked: so the
 * last writer to take it sees every push settled before, and no push is left behind.
 */
const advance = async (conn: Connection, trx: Db, repository: string) => {
  const mark = await trx
    .selectFrom('watermarks')
    .select(['pushId', 'settledAt'])
    .where('repository', '=', repository)
    .$if(conn.rowLocks, (q) => q.forUpdate())
    .executeTakeFirst();
  if (mark === undefined) return undefined;
  let pushId = mark.pushId;
  for (;;) {
    const next = await trx
      .selectFrom('pushes')
      .select('pushId')
      .where('repository', '=', repository)
      .where('pushId', '>', pushId)
      .orderBy('pushId')
      .limit(BATCH)
      .execute();
    let walked = 0;
    while (walked < next.length && next[walked]!.pushId === pushId + 1) {
      pushId += 1;
      walked += 1;
    }
    if (walked < BATCH) break;
  }
  const covered = await trx
    .selectFrom('pushes')
    .select((eb) => eb.fn.max('settledAt').as('settledAt'))
    .where('repository', '=', repository)
    .where('pushId', '<=', pushId)
    .executeTakeFirst();
  if (covered?.settledAt == null) return pushId;
  const settledAt = Math.max(mark.settledAt ?? 0, covered.settledAt);
  await trx
    .updateTable('watermarks')
    .set({ pushId, settledAt })
    .where('repository', '=', repository)
    .execute();
  // What the watermark covers needs no row of its own any more.
  await trx
    .deleteFrom('pushes')
    .where('repository', '=', repository)
    .where('pushId', '<=', pushId)
    .execute();
  return pushId;
};

const settle = async (
  conn: Connection,
  trx: Db,
  repository: string,
  pushId: PushId,
  at: number,
) => {
  await trx
    .insertInto('pushes')
    .values({ repository, pushId, settledAt: at })
    .onConflict((oc) => oc.columns(['repository', 'pushId']).doNothing())
    .execute();
  return advance(conn, trx, repository);
};

/** The push the repository's watermark stands at; undefined while it has none. */
export const watermark = async (
  conn: Connection,
  repository: string,
): Promise<number | undefined> => {
  const [row] = await conn.query({
    text: 'select push_id from watermarks where repository = ?',
    values: [repository],
  });
  return row === undefined ? undefined : Number(row.push_id);
};

/**
 * Creates the repository's watermark at the push before `pushId`, if there is none. Only for
 * a push the pushlog confirmed (recordPush.ts): a watermark below the pushlog's first push
 * would make gap-fill walk the whole history, one above its head would never be reached.
 */
export const startWatermark = async (
  conn: Connection,
  repository: string,
  pushId: PushId,
): Promise<void> => {
  // The worker calls this for every push; once the watermark exists, a read is all it costs.
  if ((await watermark(conn, repository)) !== undefined) return;
  await conn.write(async (trx) => {
    // A push settled by another process while this transaction runs would not see the new
    // watermark (not committed yet), and this one would not see that push (not committed
    // either): the watermark would lag until the next settle. This mode waits for pushes
    // being inserted and holds off new ones until we commit; unlike SHARE it excludes itself,
    // so two creations cannot deadlock on their deletes. Taken once per repository, ever.
    if (conn.rowLocks) await sql`LOCK TABLE pushes IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
    const created = await trx
      .insertInto('watermarks')
      .values({ repository, pushId: pushId - 1, settledAt: null })
      .onConflict((oc) => oc.column('repository').doNothing())
      .returning('repository')
      .executeTakeFirst();
    // A backfill may have settled the pushes after it already.
    if (created !== undefined) await advance(conn, trx, repository);
  });
};

/**
 * Records the push as settled and moves the repository's watermark over it, in one write
 * transaction, where the repository has a watermark (the worker's). Where it has none (a
 * backfill's, which starts none), only the record is written, as one fixed statement: going
 * through Kysely's query building and transaction for every push cost a backfill more than
 * SQLite took to run it. A watermark started meanwhile (startWatermark) may have walked
 * before that record was committed, so the repository is looked at again after it.
 * `watermarkSeen`: the caller has seen this repository's watermark (they are never deleted),
 * so the first look is skipped.
 */
export const pushSettled = async (
  conn: Connection,
  repository: string,
  pushId: PushId,
  at: number,
  watermarkSeen: boolean,
): Promise<number | undefined> => {
  const settleAll = () => conn.write((trx) => settle(conn, trx, repository, pushId, at));
  if (watermarkSeen || (await watermark(conn, repository)) !== undefined) return settleAll();
  await conn.query({
    text:
      'insert into pushes (repository, push_id, settled_at) values (?, ?, ?) ' +
      'on conflict (repository, push_id) do nothing',
    values: [repository, pushId, at],
  });
  // The insert again changes nothing; the walk then takes the push in.
  return (await watermark(conn, repository)) === undefined ? undefined : settleAll();
};

export const park = (conn: Connection, parked: CheckedParkRequest, at: number): Promise<void> =>
  conn.write(async (trx) => {
    const node = parked.node ?? null;
    await trx
      .insertInto('parked')
      .values({ ...parked, node, parkedAt: at })
      // Parked already: the first reason stands. The targets name the partial unique indexes.
      .onConflict((oc) =>
        node === null
          ? oc.columns(['repository', 'pushId']).where('node', 'is', null).doNothing()
          : oc.columns(['repository', 'node']).where('node', 'is not', null).doNothing(),
      )
      .execute();
    // The operator owns the push now; the worker is done with it.
    if (node === null) await settle(conn, trx, parked.repository, parked.pushId, at);
  });

export const repositoriesWithWatermark = (conn: Connection): Promise<string[]> =>
  conn.run(async (db) => {
    const rows = await db
      .selectFrom('watermarks')
      .select('repository')
      .orderBy('repository')
      .execute();
    return rows.map((r) => r.repository);
  });

export const parkedCounts = (conn: Connection): Promise<Record<string, number>> =>
  conn.run(async (db) => {
    const rows = await db
      .selectFrom('parked')
      .select((eb) => ['repository', eb.fn.countAll<number>().as('count')])
      .groupBy('repository')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.repository, Number(r.count)]));
  });
