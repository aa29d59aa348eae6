/**
 * Leases: a named job that one process of a fleet does at a time (the pushlog poller), held
 * by its owner until `expiresAt` unless renewed. Taken with the same atomic upsert as a claim
 * on a changeset: insert if free, take over if the lease ran out or is ours already, and
 * leave it otherwise. A process that dies lets its lease lapse; one that stops releases it.
 *
 * The table came with migration 0002_leases, after schema.ts was released; its row type lives
 * here and is added to the store's schema for these statements only.
 */
import type { Kysely } from 'kysely';
import type { ClaimContext } from './claims.js';
import type { StoreSchema } from './schema/schema.js';

/** One named lease: who holds it and until when (epoch ms of the store's clock). */
export interface LeasesTable {
  name: string;
  owner: string;
  expiresAt: number;
}

const withLeases = (db: Kysely<StoreSchema>) => db.withTables<{ leases: LeasesTable }>();

/** Takes or renews the lease for `ttlMs` from now; answers whether this owner holds it. */
export const takeLease = (ctx: ClaimContext, name: string, ttlMs: number): Promise<boolean> =>
  ctx.conn.run(async (db) => {
    const now = ctx.now();
    const expiresAt = now + ttlMs;
    const taken = await withLeases(db)
      .insertInto('leases')
      .values({ name, owner: ctx.owner, expiresAt })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ owner: ctx.owner, expiresAt })
          .where((eb) =>
            eb.or([eb('leases.expiresAt', '<=', now), eb('leases.owner', '=', ctx.owner)]),
          ),
      )
      .returning('owner')
      .executeTakeFirst();
    return taken !== undefined;
  });

/** Gives the lease up, if this owner holds it; another process may take it at once. */
export const releaseLease = (ctx: ClaimContext, name: string): Promise<void> =>
  ctx.conn.run(async (db) => {
    await withLeases(db)
      .deleteFrom('leases')
      .where('name', '=', name)
      .where('owner', '=', ctx.owner)
      .execute();
  });
