/**
 * Claims and the ledger: how several processes agree that each landing is sent once.
 *
 * Both are keyed by the landing, (repository, node): a changeset merged from autoland to
 * mozilla-central is two landings, each with its own ping, while the same changeset twice in
 * one repository is one. The repository is taken in the form the ping carries (repositoryUrl),
 * so that the key and the ping's document id can never disagree.
 *
 * A process claims a landing before it builds and sends its ping; the claim is a lease that
 * its owner renews while it is alive. Sending a changeset moves it from the claims into the
 * ledger in one transaction, so at every instant it is claimed, sent, or free, never two.
 * A claim is live while `expiresAt > now`; at `expiresAt <= now` anyone may take it over.
 *
 * The statements every changeset goes through (claim, the check before sending, recordSent)
 * are written as SQL, through Kysely's `sql` tag, rather than with its query builder:
 * measured, building an upsert with the builder took 50 µs, longer than SQLite takes to run
 * it, and it ran for every changeset. The SQL is the same on both engines but for
 * recordSent's single statement on PostgreSQL; the store's test suite runs both.
 */
import { sql, type Kysely } from 'kysely';
import { repositoryUrl } from '../codecs/scalars.js';
import type { ClaimOptions, ClaimOutcome, Landing, SentChangeset } from '../pipeline/ports.js';
import type { Connection } from './engines/connection.js';
import type { StoreSchema } from './schema/schema.js';

type Db = Kysely<StoreSchema>;

export interface ClaimContext {
  readonly conn: Connection;
  readonly owner: string;
  readonly now: () => number;
  readonly leaseMs: number;
}

/** The landing as the tables key it. */
const keyOf = ({ repository, node }: Landing): Landing => ({
  repository: repositoryUrl(repository),
  node,
});

const isSentIn = async (db: Db, { repository, node }: Landing): Promise<boolean> => {
  const found = await sql`
    select 1 from ledger where repository = ${repository} and node = ${node}`.execute(db);
  return found.rows.length > 0;
};

const deleteOwnClaim = (ctx: ClaimContext, db: Db, { repository, node }: Landing) =>
  sql`
    delete from claims
    where repository = ${repository} and node = ${node} and owner = ${ctx.owner}`.execute(db);

export const isSent = (ctx: ClaimContext, landing: Landing): Promise<boolean> =>
  ctx.conn.run((db) => isSentIn(db, keyOf(landing)));

export const claim = (
  ctx: ClaimContext,
  landing: Landing,
  { evenIfSent = false }: ClaimOptions = {},
): Promise<ClaimOutcome> =>
  ctx.conn.run(async (db) => {
    const key = keyOf(landing);
    const { repository, node } = key;
    const now = ctx.now();
    const expiresAt = now + ctx.leaseMs;
    // One statement decides, atomically on both engines: insert if free and not in the ledger
    // (a changeset sent before costs no write), take over if the lease ran out (or the claim
    // is already ours), and return no row otherwise. (`where true` is SQLite's way of telling
    // an INSERT ... SELECT's ON CONFLICT from a join's ON.)
    const unlessSent = evenIfSent
      ? sql`where true`
      : sql`where not exists (
          select 1 from ledger where repository = ${repository} and node = ${node})`;
    const { rows } = await sql`
      insert into claims (repository, node, owner, expires_at)
      select ${repository}, ${node}, ${ctx.owner}, cast(${expiresAt} as bigint)
      ${unlessSent}
      on conflict (repository, node) do update
        set owner = excluded.owner, expires_at = excluded.expires_at
        where claims.expires_at <= ${now} or claims.owner = excluded.owner
      returning owner`.execute(db);
    const taken = rows[0];
    if (evenIfSent) return taken === undefined ? 'held' : 'claimed';
    // On SQLite one statement runs at a time and sees one snapshot: a claim taken there was
    // taken while the ledger did not have the landing, and that is the last word.
    if (taken !== undefined && ctx.conn.engine === 'sqlite') return 'claimed';
    // Checked again after claiming: a sender's recordSent deletes its claim and fills the
    // ledger together, and on PostgreSQL our insert may have waited for exactly that and gone
    // in once the claim was gone; once our claim is in, the ledger we read now is the last word.
    // No row at all is a live claim of another or a landing in the ledger: the ledger tells.
    if (!(await isSentIn(db, key))) return taken === undefined ? 'held' : 'claimed';
    if (taken !== undefined) await deleteOwnClaim(ctx, db, key);
    return 'sent';
  });

export const holdsClaim = (ctx: ClaimContext, landing: Landing): Promise<boolean> =>
  ctx.conn.run(async (db) => {
    const { repository, node } = keyOf(landing);
    const { rows } = await sql`
      select 1 from claims
      where repository = ${repository} and node = ${node} and owner = ${ctx.owner}
        and expires_at > ${ctx.now()}`.execute(db);
    return rows.length > 0;
  });

export const recordSent = async (ctx: ClaimContext, sent: SentChangeset): Promise<void> => {
  const key = keyOf(sent);
  // A landing already in the ledger keeps its first row: that is when its ping was accepted.
  const insert = sql`
    insert into ledger (repository, node, push_id, review_system, sent_at)
    values (${key.repository}, ${key.node}, ${sent.pushId ?? null}, ${sent.reviewSystem},
            ${ctx.now()})
    on conflict (repository, node) do nothing`;
  if (ctx.conn.engine === 'postgres') {
    // One statement is one transaction: one round trip rather than four (begin, insert,
    // delete, commit). SQLite has no DELETE inside WITH, and no round trips to save.
    const release = sql`
      delete from claims
      where repository = ${key.repository} and node = ${key.node} and owner = ${ctx.owner}`;
    await ctx.conn.run((db) => sql`with released as (${release}) ${insert}`.execute(db));
    return;
  }
  await ctx.conn.write(async (trx) => {
    await insert.execute(trx);
    await deleteOwnClaim(ctx, trx, key);
  });
};

export const release = (ctx: ClaimContext, landing: Landing): Promise<void> =>
  ctx.conn.run(async (db) => {
    await deleteOwnClaim(ctx, db, keyOf(landing));
  });

/** Deletes every claim of this owner; answers how many there were. */
export const releaseAll = (ctx: ClaimContext): Promise<number> =>
  ctx.conn.run(async (db) => {
    const result = await db.deleteFrom('claims').where('owner', '=', ctx.owner).executeTakeFirst();
    return Number(result.numDeletedRows);
  });

/**
 * Extends every claim still ours by a full lease from now; answers how many. A claim whose
 * lease ran out but that nobody took over is still ours and is extended too: nobody else can
 * have sent it, since sending takes the claim first.
 */
export const renewAll = (ctx: ClaimContext): Promise<number> =>
  ctx.conn.run(async (db) => {
    const result = await db
      .updateTable('claims')
      .set({ expiresAt: ctx.now() + ctx.leaseMs })
      .where('owner', '=', ctx.owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  });
