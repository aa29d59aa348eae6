import type { HgClient } from '../../clients/hgmo.js';
import { describeError } from '../../errors.js';
import type { RepositoryStatus, StoreStatus } from '../../state/index.js';
import type { ParkedQueueCount } from './parkedQueueCount.js';

/** What one repository's pushlog said about the pushes after the watermark. */
export type PushlogCount =
  | { readonly lastPushId: number; readonly pushesAfterWatermark: number }
  | { readonly error: string };

/** What `telemetry-status` shows: the store's status, and what the pushlogs said if asked. */
export interface StatusReport {
  /** The database, as it may be shown (password masked). */
  readonly database: string;
  readonly status: StoreStatus;
  /** The parked queue's depth now, read from the broker (the store remembers only the past). */
  readonly parkedMessages: ParkedQueueCount;
  /** By repository, with --pushlog: null for a repository without a watermark (nothing asked). */
  readonly pushlog?: ReadonlyMap<string, PushlogCount | null>;
}

/**
 * Asks each repository's pushlog for its newest push id: one request per repository with a
 * watermark, bounded on both sides at the watermark (so its page is empty), all at once under
 * the per-host cap. A failure (a host not in ALLOWED_HOSTS, an unreachable server) is that
 * repository's answer, not the command's.
 */
export const countPushesAfterWatermarks = async (
  hg: Pick<HgClient, 'pushlogPage'>,
  repositories: readonly RepositoryStatus[],
): Promise<Map<string, PushlogCount | null>> => {
  const counts = await Promise.all(
    repositories.map(async ({ repository, watermark }): Promise<PushlogCount | null> => {
      // A git branch's watermark is a commit: its pushlog is not asked (no such thing).
      if (typeof watermark !== 'number') return null;
      try {
        const { lastpushid } = await hg.pushlogPage(repository, watermark, watermark);
        return {
          lastPushId: lastpushid,
          pushesAfterWatermark: Math.max(0, lastpushid - watermark),
        };
      } catch (error) {
        return { error: describeError(error) };
      }
    }),
  );
  return new Map(repositories.map((r, i) => [r.repository, counts[i] ?? null]));
};

const iso = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString();

/**
 * The `--json` document. Times are ISO 8601 (UTC) strings; `watermark` (a push id, or a git
 * branch's commit sha) and `lastSettledAt` are null when unknown; `pushlog` is present with --pushlog only. `parkedMessages` is what
 * waits in the parked queue now; a repository's `everParked` counts what the worker ever
 * parked of it (a replay that succeeds does not lower it).
 */
export const statusDocument = ({ database, status, parkedMessages, pushlog }: StatusReport) => ({
  database,
  at: iso(status.at),
  parkedMessages,
  claims: status.claims,
  repositories: status.repositories.map((r) => ({
    repository: r.repository,
    watermark: r.watermark ?? null,
    lastSettledAt: iso(r.lastSettledAt),
    sentLast24Hours: r.sentLast24Hours,
    sentLast7Days: r.sentLast7Days,
    claims: r.claims,
    everParked: r.parked,
    ...(pushlog === undefined ? {} : { pushlog: pushlog.get(r.repository) ?? null }),
  })),
});

export type StatusDocument = ReturnType<typeof statusDocument>;
