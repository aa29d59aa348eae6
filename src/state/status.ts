/**
 * What an operator's `telemetry-status` shows: per repository, how far the worker got, what
 * it sent lately, what is in flight, and what it ever parked.
 */
import type { Connection } from './engines/connection.js';
import { byText } from '../order.js';

const HOUR_MS = 60 * 60 * 1000;

export interface ClaimCounts {
  /** Claims whose lease runs (their owner is presumably at work). */
  held: number;
  /** Claims whose lease ran out: their owner died or stalled; anyone may take them over. */
  expired: number;
}

export interface RepositoryStatus {
  repository: string;
  /**
   * The watermark: an hg repository's push id, or a git branch's last settled commit (its
   * sha); undefined if the worker never processed this repository.
   */
  watermark: number | string | undefined;
  /** When a push of this repository was last settled (epoch ms), if ever. */
  lastSettledAt: number | undefined;
  /** Pings sent, by review system. */
  sentLast24Hours: Record<string, number>;
  sentLast7Days: Record<string, number>;
  claims: ClaimCounts;
  /**
   * Pushes and changesets the worker ever parked (its record; a replay that succeeds does not
   * lower it). What waits for an operator now is in the parked queue, not here.
   */
  parked: number;
}

export interface StoreStatus {
  /** The time the counts are relative to (epoch ms). */
  at: number;
  claims: ClaimCounts;
  /** Every repository the store knows of, by name. */
  repositories: RepositoryStatus[];
}

const newRepository = (repository: string): RepositoryStatus => ({
  repository,
  watermark: undefined,
  lastSettledAt: undefined,
  sentLast24Hours: {},
  sentLast7Days: {},
  claims: { held: 0, expired: 0 },
  parked: 0,
});

const later = (a: number | undefined, b: number | null | undefined) =>
  b == null ? a : a === undefined ? b : Math.max(a, b);

export const status = (conn: Connection, at: number): Promise<StoreStatus> =>
  conn.run(async (db) => {
    const day = at - 24 * HOUR_MS;
    const week = at - 7 * 24 * HOUR_MS;
    const [marks, gitMarks, pushes, sent, claims, parked] = await Promise.all([
      db.selectFrom('watermarks').select(['repository', 'pushId', 'settledAt']).execute(),
      db.selectFrom('gitWatermarks').select(['repository', 'sha', 'settledAt']).execute(),
      db
        .selectFrom('pushes')
        .select((eb) => ['repository', eb.fn.max('settledAt').as('settledAt')])
        .groupBy('repository')
        .execute(),
      db
        .selectFrom('ledger')
        .select((eb) => [
          'repository',
          'reviewSystem',
          eb.fn.sum<number>(eb.case().when('sentAt', '>', day).then(1).else(0).end()).as('day'),
          eb.fn.countAll<number>().as('week'),
        ])
        .where('sentAt', '>', week)
        .groupBy(['repository', 'reviewSystem'])
        .execute(),
      db
        .selectFrom('claims')
        .select((eb) => [
          'repository',
          eb.fn.sum<number>(eb.case().when('expiresAt', '>', at).then(1).else(0).end()).as('held'),
          eb.fn.countAll<number>().as('all'),
        ])
        .groupBy('repository')
        .execute(),
      db
        .selectFrom('parked')
        .select((eb) => ['repository', eb.fn.countAll<number>().as('count')])
        .groupBy('repository')
        .execute(),
    ]);
    const byName = new Map<string, RepositoryStatus>();
    const of = (name: string) => {
      let entry = byName.get(name);
      if (entry === undefined) byName.set(name, (entry = newRepository(name)));
      return entry;
    };
    for (const m of marks) {
      Object.assign(of(m.repository), {
        watermark: m.pushId,
        lastSettledAt: m.settledAt ?? undefined,
      });
    }
    for (const m of gitMarks) {
      Object.assign(of(m.repository), {
        watermark: m.sha,
        lastSettledAt: m.settledAt === null ? undefined : Number(m.settledAt),
      });
    }
    for (const p of pushes) {
      const entry = of(p.repository);
      entry.lastSettledAt = later(entry.lastSettledAt, p.settledAt);
    }
    for (const s of sent) {
      const entry = of(s.repository);
      if (Number(s.day) > 0) entry.sentLast24Hours[s.reviewSystem] = Number(s.day);
      entry.sentLast7Days[s.reviewSystem] = Number(s.week);
    }
    const total: ClaimCounts = { held: 0, expired: 0 };
    for (const c of claims) {
      const held = Number(c.held);
      const expired = Number(c.all) - held;
      of(c.repository).claims = { held, expired };
      total.held += held;
      total.expired += expired;
    }
    for (const p of parked) of(p.repository).parked = Number(p.count);
    const repositories = [...byName.values()].sort((a, b) => byText(a.repository, b.repository));
    return { at, claims: total, repositories };
  });
