/**
 * Claims and the ledger: how several processes agree that each changeset is sent once.
 *
 * A process claims a changeset before it builds and sends its ping; the claim is a lease that
 * its owner renews while it is alive. Sending a changeset moves it from the claims into the
 * ledger in one transaction, so at every instant it is claimed, sent, or free, never two.
 * A claim is live while `expiresAt > now`; at `expiresAt <= now` anyone may take it over.
 *
 * The statements every changeset goes through (claim, the ledger check, recordSent) are
 * written as SQL, through Kysely's `sql` tag, rather than with its query builder: measured,
 * building an upsert with the builder took 50 µs, longer than SQLite takes to run it, and it
 * ran for every changeset. The SQL is the same on both engines; the store's test suite runs
 * every statement on both.
 */
import { sql, type Kysely } from 'kysely';
import type { ClaimExpiries } from './claimExpiries.js';
import type { Connection } from './connection.js';
import type { SentChangeset, StoreSchema } from './schema.js';

type Db = Kysely<StoreSchema>;

export interface ClaimContext {
  readonly conn: Connection;
  readonly owner: string;
  readonly now: () => number;
  readonly leaseMs: number;
  /** Until when each of our claims is surely live, so holdsClaim rarely asks the database. */
  readonly expiries: ClaimExpiries;
}

/** `claimed`: it is ours to send; `sent`: it is in the ledger; `held`: a live claim of another. */
export type ClaimOutcome = 'claimed' | 'sent' | 'held';

const isSentIn = async (db: Db, node: string): Promise<boolean> => {
  const found = await sql`select 1 from ledger where node = ${node}`.execute(db);
  return found.rows.length > 0;
};

const deleteOwnClaim = (ctx: ClaimContext, db: Db, node: string) =>
  sql`delete from claims where node = ${node} and owner = ${ctx.owner}`.execute(db);

export const isSent = (ctx: ClaimContext, node: string): Promise<boolean> =>
  ctx.conn.run((db) => isSentIn(db, node));

export interface ClaimOptions {
  /** Claim it even if the ledger has it (a backfill's --resend sends it again). */
  readonly evenIfSent?: boolean;
}

export const claim = (
  ctx: ClaimContext,
  node: string,
  repository: string,
  { evenIfSent = false }: ClaimOptions = {},
): Promise<ClaimOutcome> =>
  ctx.conn.run(async (db) => {
    const now = ctx.now();
    const expiresAt = now + ctx.leaseMs;
    // One statement decides, atomically on both engines: insert if free, take over if the
    // lease ran out (or the claim is already ours), and return no row otherwise.
    const { rows } = await sql`
      insert into claims (node, repository, owner, expires_at)
      values (${node}, ${repository}, ${ctx.owner}, ${expiresAt})
      on conflict (node) do update
        set owner = excluded.owner, repository = excluded.repository,
            expires_at = excluded.expires_at
        where claims.expires_at <= ${now} or claims.owner = excluded.owner
      returning owner`.execute(db);
    const taken = rows[0];
    if (taken === undefined) ctx.expiries.dropped(node);
    else ctx.expiries.claimed(node, expiresAt);
    // Checked after claiming, not before: a sender's recordSent deletes its claim and fills the
    // ledger together, so once our claim is in, the ledger we read now is the last word. (A
    // check before as well would cost every new changeset a statement to save a sent one two.)
    if (evenIfSent || !(await isSentIn(db, node))) return taken === undefined ? 'held' : 'claimed';
    if (taken !== undefined) {
      await deleteOwnClaim(ctx, db, node);
      ctx.expiries.dropped(node);
    }
    return 'sent';
  });

export const holdsClaim = async (ctx: ClaimContext, node: string): Promise<boolean> => {
  if (ctx.expiries.surelyLive(node, ctx.now())) return true;
  return ctx.conn.run(async (db) => {
    const row = await db
      .selectFrom('claims')
      .select('expiresAt')
      .where('node', '=', node)
      .where('owner', '=', ctx.owner)
      .where('expiresAt', '>', ctx.now())
      .executeTakeFirst();
    // Not on every changeset's path any more (see ClaimExpiries): the builder is fine here.
    if (row === undefined) ctx.expiries.dropped(node);
    else ctx.expiries.claimed(node, row.expiresAt);
    return row !== undefined;
  });
};

export const recordSent = async (ctx: ClaimContext, sent: SentChangeset): Promise<void> => {
  await ctx.conn.write(async (trx) => {
    // A node already in the ledger keeps its first row: that is when its ping was accepted.
    await sql`
      insert into ledger (node, repository, push_id, review_system, sent_at)
      values (${sent.node}, ${sent.repository}, ${sent.pushId ?? null}, ${sent.reviewSystem},
              ${ctx.now()})
      on conflict (node) do nothing`.execute(trx);
    await deleteOwnClaim(ctx, trx, sent.node);
  });
  ctx.expiries.dropped(sent.node);
};

export const release = async (ctx: ClaimContext, node: string): Promise<void> => {
  await ctx.conn.run((db) => deleteOwnClaim(ctx, db, node));
  ctx.expiries.dropped(node);
};

/** Deletes every claim of this owner; answers how many there were. */
export const releaseAll = async (ctx: ClaimContext): Promise<number> => {
  const result = await ctx.conn.run((db) =>
    db.deleteFrom('claims').where('owner', '=', ctx.owner).executeTakeFirst(),
  );
  ctx.expiries.droppedAll();
  return Number(result.numDeletedRows);
};

/**
 * Extends every claim still ours by a full lease from now; answers how many. A claim whose
 * lease ran out but that nobody took over is still ours and is extended too: nobody else can
 * have sent it, since sending takes the claim first.
 */
export const renewAll = async (ctx: ClaimContext): Promise<number> => {
  const expiresAt = ctx.now() + ctx.leaseMs;
  const result = await ctx.conn.run((db) =>
    db.updateTable('claims').set({ expiresAt }).where('owner', '=', ctx.owner).executeTakeFirst(),
  );
  ctx.expiries.renewed(expiresAt, ctx.now());
  return Number(result.numUpdatedRows);
};
