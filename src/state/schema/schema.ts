/**
 * The store's tables as the code sees them (camelCase; CamelCasePlugin maps them to the
 * snake_case columns that migrations.ts creates). Every row type of the store derives from here.
 *
 * Times are epoch milliseconds in `bigint` columns, not SQL timestamps: both engines then
 * compare them as plain integers, the injectable clock is a number, and there is no time zone
 * to get wrong. PostgreSQL's int8 comes back from pg as a string; connect.ts parses it into a
 * number for this store's pool only (epoch ms, push ids and counts all stay far below 2^53).
 */
import type { Insertable, Selectable } from 'kysely';

/** Every landing whose ping telemetry accepted: the one thing that must never be lost. */
export interface LedgerTable {
  repository: string;
  node: string;
  /** null for a changeset sent on its own (`dump-telemetry`), outside any push. */
  pushId: number | null;
  reviewSystem: string;
  sentAt: number;
}

/** A landing some process is working on, until `expiresAt` unless its owner renews it. */
export interface ClaimsTable {
  repository: string;
  node: string;
  owner: string;
  expiresAt: number;
}

/** A push settled above its repository's watermark (rows at or below it are deleted). */
export interface PushesTable {
  repository: string;
  pushId: number;
  settledAt: number;
}

export interface WatermarksTable {
  repository: string;
  /** This push and every push before it, since the worker's first one, are settled. */
  pushId: number;
  /** When the newest of the pushes the watermark passed over was settled; null until it moves. */
  settledAt: number | null;
}

/** A git branch's watermark (gitWatermarks.ts): every landing up to `sha` is settled. */
export interface GitWatermarksTable {
  repository: string;
  sha: string;
  settledAt: number | null;
}

/** A push (node null) or a changeset that an operator owns now. */
export interface ParkedTable {
  repository: string;
  pushId: number;
  node: string | null;
  reason: string;
  parkedAt: number;
}

export interface StoreSchema {
  ledger: LedgerTable;
  claims: ClaimsTable;
  pushes: PushesTable;
  watermarks: WatermarksTable;
  parked: ParkedTable;
  gitWatermarks: GitWatermarksTable;
}

export type LedgerRow = Selectable<LedgerTable>;

/** The ledger's and the claims' key, and what recordSent writes: the pipeline's port says. */
export type { Landing, SentChangeset } from '../../pipeline/ports.js';

export type ParkedRow = Selectable<ParkedTable>;

/** What park needs: a parked row but for the time; no node parks the whole push. */
export type ParkRequest = Omit<Insertable<ParkedTable>, 'parkedAt' | 'node'> & {
  node?: ParkedTable['node'];
};
