import type { HgClient } from '../../src/clients/hgmo.js';
import { log } from '../../src/log.js';
import { PushlogSource } from '../pushlog.js';
import { WARN_AFTER_POLLS, type GapFillMetrics, type GapFillStore } from './config.js';

export interface WalkDeps {
  readonly store: Pick<GapFillStore, 'watermark' | 'settledPushes'>;
  readonly hg: Pick<HgClient, 'pushlogPage'>;
  readonly graceMs: number;
  readonly pageSize: number;
  readonly metrics: GapFillMetrics;
  readonly now: () => number;
}

/** What the walk asks of the source that runs it. */
export interface WalkHooks {
  stopped(): boolean;
  /** A gap-fill job of that push is in the pipeline. */
  isRunning(repository: string, pushId: number): boolean;
  /** Resolves true once a job may enter the pipeline, false if gap-fill stopped. */
  slot(): Promise<boolean>;
  emit(repository: string, pushId: number, nodes: readonly string[]): void;
}

/**
 * One repository's walk from its watermark up the pushlog, read through the pushlog source
 * (the backfill's pager: every request bounded on both sides), up to the newest push the
 * first page named, so that a poll ends. A push neither settled nor running, once seen
 * unsettled for the grace period, is handed to `emit`. Remembers, per repository, when each
 * stretch of the pushlog was first read (one entry per page, dropped once the watermark
 * passes it) and how many times gap-fill ran a push without settling it.
 */
export class PushlogWalks {
  private readonly seen = new Map<string, { upTo: number; at: number }[]>();
  private readonly attempts = new Map<string, Map<number, number>>();

  constructor(
    private readonly deps: WalkDeps,
    private readonly hooks: WalkHooks,
  ) {}

  /** A gap-fill job of the push settled it, or did not (tried again at the next poll). */
  outcome(repository: string, pushId: number, settled: boolean): void {
    const tried = this.attempts.get(repository) ?? new Map<number, number>();
    this.attempts.set(repository, tried);
    if (settled) tried.delete(pushId);
    else tried.set(pushId, (tried.get(pushId) ?? 0) + 1);
  }

  async walk(repository: string): Promise<void> {
    const { store, hg, graceMs, pageSize, now, metrics } = this.deps;
    const mark = await store.watermark(repository);
    if (mark === undefined) return;
    this.forgetUpTo(repository, mark);
    const pager = new PushlogSource(
      hg,
      { repository, start: mark, end: Number.MAX_SAFE_INTEGER },
      pageSize,
    );
    let head: number | undefined;
    let checkedUpTo = mark;
    let settled = new Set<number>();
    let readAt = now();
    let [queued, waiting] = [0, 0];
    const stuck: number[] = [];
    for await (const job of pager.jobs()) {
      head ??= pager.lastPushId;
      if (this.hooks.stopped() || job.target.kind !== 'push' || head === undefined) break;
      const { pushId, nodes = [] } = job.target;
      if (pushId > head) break;
      if (pushId > checkedUpTo) {
        // The stretch of the page this push is on: its settled pushes, in one read.
        const pages = Math.ceil((pushId - checkedUpTo) / pageSize);
        const upTo = Math.min(checkedUpTo + pages * pageSize, head);
        readAt = now();
        this.saw(repository, upTo, readAt);
        settled = new Set(await store.settledPushes(repository, checkedUpTo, upTo));
        for (const id of settled) this.attempts.get(repository)?.delete(id);
        checkedUpTo = upTo;
      }
      if (settled.has(pushId) || this.hooks.isRunning(repository, pushId)) continue;
      if (readAt - this.firstSeen(repository, pushId) < graceMs) {
        waiting += 1;
        continue;
      }
      if ((this.attempts.get(repository)?.get(pushId) ?? 0) >= WARN_AFTER_POLLS) {
        stuck.push(pushId);
      }
      if (!(await this.hooks.slot())) break;
      // The gate may have kept it a while: a live message may have settled it meanwhile.
      if ((await store.settledPushes(repository, pushId - 1, pushId)).length > 0) continue;
      if (this.hooks.stopped()) break;
      this.hooks.emit(repository, pushId, nodes);
      queued += 1;
    }
    pager.stop();
    if (this.hooks.stopped()) return;
    if (pager.failure !== undefined) throw pager.failure;
    head ??= pager.lastPushId;
    if (head === undefined) return;
    const pushesBehind = Math.max(0, head - mark);
    metrics.pushesBehind.set({ repository }, pushesBehind);
    if (queued + waiting > 0) {
      log.info('gap-fill: the pushlog has pushes the watermark has not passed', {
        repository,
        watermark: mark,
        head,
        pushesBehind,
        pushesQueued: queued,
        waitingForGrace: waiting,
      });
    }
    if (stuck.length > 0) {
      log.warn(`gap-fill: pushes still unsettled after ${WARN_AFTER_POLLS} polls or more`, {
        repository,
        pushes: stuck.slice(0, 10),
        count: stuck.length,
      });
    }
  }

  private saw(repository: string, upTo: number, at: number): void {
    const entries = this.seen.get(repository) ?? [];
    if (entries.length === 0 || entries[entries.length - 1]!.upTo < upTo) {
      entries.push({ upTo, at });
    }
    this.seen.set(repository, entries);
  }

  private firstSeen(repository: string, pushId: number): number {
    return this.seen.get(repository)?.find((e) => e.upTo >= pushId)?.at ?? this.deps.now();
  }

  /** What is at or below the watermark is settled: nothing to remember about it. */
  private forgetUpTo(repository: string, mark: number): void {
    const entries = this.seen.get(repository);
    if (entries !== undefined) {
      this.seen.set(
        repository,
        entries.filter((e) => e.upTo > mark),
      );
    }
    const tried = this.attempts.get(repository);
    for (const pushId of tried?.keys() ?? []) if (pushId <= mark) tried?.delete(pushId);
  }
}
