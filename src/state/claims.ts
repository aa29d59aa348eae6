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
 * are fixed SQL texts run with `conn.query`, not built with Kysely: building them took more
 * CPU than SQLite took to run them, once per changeset (docs/benchmarks.md). The SQL is the
 * same on both engines but for recordSent's single statement on PostgreSQL; the store's test
 * suite runs both.
 */
import { repositoryUrl } from '../codecs/scalars.js';
import type { ClaimOptions, ClaimOutcome, Landing, SentChangeset } from '../pipeline/ports.js';
import type { Connection, Statement } from './engines/connection.js';

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

/** The landing's ledger row, if its ping was recorded at or after `since` (0: ever). */
const inLedger = ({ repository, node }: Landing, since = 0): Statement => ({
  text: 'select 1 from ledger where repository = ? and node = ? and sent_at >= ?',
  values: [repository, node, since],
});

const deleteOwnClaim = (ctx: ClaimContext, { repository, node }: Landing): Statement => ({
  text: 'delete from claims where repository = ? and node = ? and owner = ?',
  values: [repository, node, ctx.owner],
});

/**
 * One statement decides, atomically on both engines: insert if free and not in the ledger
 * (a changeset sent before costs no write; with `resendSentBefore`, one recorded before that
 * time counts as not sent), take over if the lease ran out or the claim is already ours, and
 * return no row otherwise.
 */
const take = (ctx: ClaimContext, landing: Landing, sentSince: number): Statement => {
  const now = ctx.now();
  const notSent = inLedger(landing, sentSince);
  return {
    text: `
      insert into claims (repository, node, owner, expires_at)
      select ?, ?, ?, cast(? as bigint)
      where not exists (${notSent.text})
      on conflict (repository, node) do update
        set owner = excluded.owner, expires_at = excluded.expires_at
        where claims.expires_at <= ? or claims.owner = excluded.owner
      returning owner`,
    values: [
      landing.repository,
      landing.node,
      ctx.owner,
      now + ctx.leaseMs,
      ...notSent.values,
      now,
    ],
  };
};

export const isSent = async (ctx: ClaimContext, landing: Landing): Promise<boolean> =>
  (await ctx.conn.query(inLedger(keyOf(landing)))).length > 0;

export const claim = async (
  ctx: ClaimContext,
  landing: Landing,
  { resendSentBefore }: ClaimOptions = {},
): Promise<ClaimOutcome> => {
  const key = keyOf(landing);
  // Sent, for this claim: recorded at all, or (resending) recorded since the cut-off.
  const sentSince = resendSentBefore ?? 0;
  const taken = (await ctx.conn.query(take(ctx, key, sentSince))).length > 0;
  // On SQLite one statement runs at a time and sees one snapshot: a claim taken there was
  // taken while the ledger did not have the landing, and that is the last word.
  if (taken && ctx.conn.engine === 'sqlite') return 'claimed';
  // Checked again after claiming: a sender's recordSent deletes its claim and fills the
  // ledger together, and on PostgreSQL our insert may have waited for exactly that and gone
  // in once the claim was gone; once our claim is in, the ledger we read now is the last word.
  // No row at all is a live claim of another or a landing in the ledger: the ledger tells.
  if ((await ctx.conn.query(inLedger(key, sentSince))).length === 0) {
    return taken ? 'claimed' : 'held';
  }
  if (taken) await ctx.conn.query(deleteOwnClaim(ctx, key));
  return 'sent';
};

export const holdsClaim = async (ctx: ClaimContext, landing: Landing): Promise<boolean> => {
  const { repository, node } = keyOf(landing);
  const rows = await ctx.conn.query({
    text: `select 1 from claims
      where repository = ? and node = ? and owner = ? and expires_at > ?`,
    values: [repository, node, ctx.owner, ctx.now()],
  });
  return rows.length > 0;
};

export const recordSent = async (ctx: ClaimContext, sent: SentChangeset): Promise<void> => {
  const key = keyOf(sent);
  // A landing sent again (--resend) keeps its first push and review system; its time becomes
  // that of the last ping accepted, which a resend's cut-off and the status's counts read.
  const insert = `
    insert into ledger (repository, node, push_id, review_system, sent_at)
    values (?, ?, ?, ?, ?)
    on conflict (repository, node) do update set sent_at = excluded.sent_at`;
  const values = [key.repository, key.node, sent.pushId ?? null, sent.reviewSystem, ctx.now()];
  // Whoever's claim it is: a process that took it over when our lease ran out (a stalled
  // connection) must find it gone at its check before sending, not send it a second time.
  const release: Statement = {
    text: 'delete from claims where repository = ? and node = ?',
    values: [key.repository, key.node],
  };
  if (ctx.conn.engine === 'postgres') {
    // One statement is one transaction: one round trip rather than four (begin, insert,
    // delete, commit). SQLite has no DELETE inside WITH, and no round trips to save.
    await ctx.conn.query({
      text: `with released as (${release.text}) ${insert}`,
      values: [...release.values, ...values],
    });
    return;
  }
  await ctx.conn.writeAll([{ text: insert, values }, release]);
};

export const release = async (ctx: ClaimContext, landing: Landing): Promise<void> => {
  await ctx.conn.query(deleteOwnClaim(ctx, keyOf(landing)));
};

/** Deletes our claim of the landing if its lease ends by `endsBy`: one we let go of, not one taken again since. */
export const releaseLapsing = async (
  ctx: ClaimContext,
  landing: Landing,
  endsBy: number,
): Promise<void> => {
  const own = deleteOwnClaim(ctx, keyOf(landing));
  await ctx.conn.query({
    text: `${own.text} and expires_at <= ?`,
    values: [...own.values, endsBy],
  });
};

/** Deletes every claim of this owner; answers how many there were. */
export const releaseAll = (ctx: ClaimContext): Promise<number> =>
  ctx.conn.run(async (db) => {
    const result = await db.deleteFrom('claims').where('owner', '=', ctx.owner).executeTakeFirst();
    return Number(result.numDeletedRows);
  });

/**
 * Extends every claim still ours by a full lease from now, but those in `lettingGo`; answers
 * how many. A claim whose lease ran out but that nobody took over is still ours and is
 * extended too: nobody else can have sent it, since sending takes the claim first. A claim we
 * let go of but could not delete (the database was away) is left out: renewed, it would stay
 * ours, and held for every other process, for as long as we live (the store deletes it once
 * the database is back: releaseLapsing, failedReleases.ts).
 */
export const renewAll = (
  ctx: ClaimContext,
  lettingGo: () => readonly Landing[] = () => [],
): Promise<number> =>
  ctx.conn.run(async (db) => {
    // Both read at once, when the statement is built: a claim whose release fails after this
    // renewal's time has its failure's time later, and a lease ending by it (releaseLapsing).
    const expiresAt = ctx.now() + ctx.leaseMs;
    let update = db.updateTable('claims').set({ expiresAt }).where('owner', '=', ctx.owner);
    for (const { repository, node } of lettingGo().map(keyOf)) {
      update = update.where((eb) =>
        eb.or([eb('repository', '!=', repository), eb('node', '!=', node)]),
      );
    }
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows);
  });
