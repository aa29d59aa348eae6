import { setTimeout as sleep } from 'node:timers/promises';
import { Subject, type Observable } from 'rxjs';
import type { HgClient } from '../clients/hgmo.js';
import type { GapFillSettings, StoreSettings } from '../codecs/settings.js';
import { log } from '../log.js';
import {
  failureLines,
  sentBySystem,
  type Job,
  type JobOutcome,
  type SettlingJob,
} from '../pipeline/job.js';
import { isSettled } from '../pipeline/recordPush.js';
import type { Store } from '../state/index.js';
import type { GapFillMetrics, WorkerMetrics } from './metrics.js';

/** The store lease that lets one worker of a fleet poll the pushlogs at a time. */
export const POLLER_LEASE = 'pushlog-poller';
/** A push tried by gap-fill this many polls and still unsettled is worth a warning. */
export const WARN_AFTER_POLLS = 3;

export type GapFillStore = Pick<
  Store,
  'repositoriesWithWatermark' | 'watermark' | 'settledPushes' | 'takeLease' | 'releaseLease'
>;

/** What the command decides: where the watermarks are, how often to poll, how long to wait. */
export interface GapFillConfig {
  readonly store: GapFillStore;
  /** PUSHLOG_POLL_SECONDS, in ms: the time between two polls (one more at start). */
  readonly pollMs: number;
  /** PUSHLOG_GRACE_SECONDS, in ms: how long a push is seen unsettled before gap-fill runs it. */
  readonly graceMs: number;
  /** Pushes per json-pushes request, as the backfill's default. */
  readonly pageSize?: number;
  /** How long the poller lease lasts unless renewed (renewed every third of it). */
  readonly leaseMs?: number;
  /** Most gap-fill jobs in the pipeline at once. */
  readonly maxJobs?: number;
  /** A gap-fill job enters the pipeline only while fewer live messages than this are in flight. */
  readonly liveBelow?: number;
}

/** What the worker adds: the pushlog reader, the metrics, and how busy the live side is. */
export interface GapFillOptions extends GapFillConfig {
  readonly hg: Pick<HgClient, 'pushlogPage'>;
  readonly metrics: { readonly gapFill: GapFillMetrics; readonly pings: WorkerMetrics['pings'] };
  /** Live messages taken and not yet settled. */
  readonly liveInFlight: () => number;
  /** While true (consuming paused for an outage), no gap-fill job enters the pipeline either. */
  readonly paused?: () => boolean;
  /** The worker's clock, for the grace period. */
  readonly now?: () => number;
}

export interface GapFillCounters {
  /** Polls this worker made holding the lease. */
  polls: number;
  /** Gap-fill jobs handed to the pipeline, settled, and not settled (tried again later). */
  queued: number;
  settled: number;
  unsettled: number;
}

/**
 * The gap-fill options a worker's settings give, or undefined when gap-fill is off: no store
 * (--no-send), a replay of parked messages, or PUSHLOG_POLL_SECONDS=0. The poller's lease
 * lasts as long as a claim's (CLAIM_LEASE_SECONDS), when the settings say.
 */
export const gapFillConfig = (
  settings: (GapFillSettings & Partial<Pick<StoreSettings, 'CLAIM_LEASE_SECONDS'>>) | undefined,
  store: GapFillStore | undefined,
  replay: boolean,
): GapFillConfig | undefined =>
  settings === undefined || store === undefined || replay || settings.PUSHLOG_POLL_SECONDS === 0
    ? undefined
    : {
        store,
        pollMs: settings.PUSHLOG_POLL_SECONDS * 1000,
        graceMs: settings.PUSHLOG_GRACE_SECONDS * 1000,
        ...(settings.CLAIM_LEASE_SECONDS === undefined
          ? {}
          : { leaseMs: settings.CLAIM_LEASE_SECONDS * 1000 }),
      };

/**
 * Gap-fill: the pushlog, not Pulse, is the record of truth. For every repository with a
 * watermark, a poll reads the pushlog after the watermark page by page, each request bounded
 * on both sides, up to the newest push the first page named. A push neither settled nor
 * already running here, once this poller has seen it unsettled for the grace period, becomes
 * a push job with its nodes from the page, emitted on `jobs` for the worker's pipeline. Its
 * outcome comes back through the job's `settle` (never to Pulse); the pipeline has recorded
 * it in the store already, so a settled push moves the watermark, and one that is not stays behind it
 * and is tried again at the next poll.
 *
 * Behind live messages: a job is emitted only while fewer than `liveBelow` live messages are
 * in flight, fewer than `maxJobs` gap-fill jobs are, and consuming is not paused for an
 * outage; the walk waits meanwhile, reading no further page. Each job then starts at once in
 * the shared pipeline (4 + 2 < its 16 job slots), under the same per-host caps, and leaves
 * at least 14 slots to live messages. With a fleet on PostgreSQL, only the holder of the
 * poller lease polls.
 * Nothing here throws into the worker: a poll that fails is logged and made again later.
 */
export class GapFill {
  readonly counters: GapFillCounters = { polls: 0, queued: 0, settled: 0, unsettled: 0 };
  private readonly emitted = new Subject<SettlingJob>();
  /** Gap-fill jobs, each settled here (never to Pulse); completes once `stop()` has finished. */
  readonly jobs: Observable<SettlingJob> = this.emitted.asObservable();
  /** Jobs in the pipeline, with the push each is about. */
  private readonly running = new Map<Job, string>();
  /**
   * Per repository, how far the poller had read the pushlog at a time: a push was first seen
   * at the earliest entry reaching it. One entry per page first read, dropped once the
   * watermark passes it, so a repository far behind costs no entry per push.
   */
  private readonly seen = new Map<string, { upTo: number; at: number }[]>();
  /** Per repository, pushes gap-fill ran and did not settle, and how many times. */
  private readonly attempts = new Map<string, Map<number, number>>();
  private waiting: (() => boolean)[] = [];
  private whenDrained: (() => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private polling: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private started = false;
  private leaseHeld: boolean | undefined;
  private readonly now: () => number;

  constructor(private readonly options: GapFillOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether this worker held the poller lease at its last try. */
  get holdsLease(): boolean {
    return this.leaseHeld === true;
  }

  /** Polls now, then every `pollMs`, until `stop()`. */
  start(): void {
    if (this.started || this.stopping !== undefined) return;
    this.started = true;
    const leaseMs = this.options.leaseMs ?? 60_000;
    this.timers = [
      setInterval(() => this.poll(), this.options.pollMs),
      // Keeps the lease between polls (it outlasts a few failed renewals), and now and then
      // looks at the gate again, should a change of the live load have gone unannounced.
      setInterval(() => {
        void this.renewLease(leaseMs);
        this.wake();
      }, leaseMs / 3),
    ];
    for (const timer of this.timers) timer.unref();
    this.poll();
  }

  /** Takes a gap-fill job's outcome (the pipeline recorded it in the store already). */
  private async settle(result: JobOutcome): Promise<void> {
    const key = this.running.get(result.job);
    if (key === undefined || result.job.target.kind !== 'push') return;
    this.running.delete(result.job);
    const { repository, pushId } = result.job.target;
    const line = {
      job: result.job.label,
      repository,
      push: pushId,
      changesets: result.outcomes.length,
      reviewSystems: sentBySystem(result.outcomes),
      durationMs: Date.now() - result.job.receivedAt,
    };
    this.countPings(result);
    if (isSettled(result)) {
      this.counters.settled += 1;
      this.attempts.get(repository)?.delete(pushId);
      this.options.metrics.gapFill.gapFilled.inc({ repository });
      log.info(`${result.job.label}: settled from the pushlog`, line);
    } else {
      this.counters.unsettled += 1;
      const tried = this.attemptsOf(repository);
      tried.set(pushId, (tried.get(pushId) ?? 0) + 1);
      const held = result.outcomes.filter((o) => o.status === 'held').length;
      log.info(`${result.job.label}: not settled; tried again at the next poll`, {
        ...line,
        ...(held > 0 ? { held } : {}),
        failures: failureLines(result),
      });
    }
    if (this.running.size === 0) this.drained();
    this.wake();
  }

  /** The live load changed: a waiting poll looks at the gate again. */
  wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const check of waiting) if (!check()) this.waiting.push(check);
  }

  /**
   * No poll after this. A poll in progress stops at its next step; the jobs in the pipeline
   * get `graceMs` to finish (those that do not are abandoned: their pushes stay unsettled and
   * are tried again by the next run). Then the lease is released and `jobs` completes.
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      this.wake();
      const drained =
        this.running.size === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => this.whenDrained.push(resolve));
      const finished = await Promise.race([
        Promise.all([this.polling, drained]).then(() => 'done' as const),
        sleep(graceMs, 'late' as const, { ref: false }),
      ]);
      if (finished === 'late') {
        log.warn('gap-fill jobs still in flight at stop; their pushes are tried again later', {
          inFlight: this.running.size,
        });
      }
      if (this.leaseHeld === true) {
        await this.options.store
          .releaseLease(POLLER_LEASE)
          .catch((error: unknown) => log.warn('could not release the poller lease', { error }));
        this.leaseHeld = false;
      }
      this.emitted.complete();
    })();
    return this.stopping;
  }

  private poll(): void {
    if (this.stopping !== undefined || this.polling !== undefined) return;
    this.polling = this.pollOnce()
      .catch((error: unknown) => {
        if (this.stopping !== undefined) return;
        log.warn('gap-fill: the pushlog poll failed; trying again at the next poll', { error });
      })
      .finally(() => (this.polling = undefined));
  }

  private async pollOnce(): Promise<void> {
    const { store } = this.options;
    const held = await store.takeLease(POLLER_LEASE, this.options.leaseMs ?? 60_000);
    if (held !== this.leaseHeld) {
      log.info(
        held
          ? 'gap-fill: this worker polls the pushlogs'
          : 'gap-fill: another worker holds the poller lease; this one does not poll',
        { lease: POLLER_LEASE },
      );
    }
    this.leaseHeld = held;
    if (!held || this.stopping !== undefined) return;
    this.counters.polls += 1;
    for (const repository of await store.repositoriesWithWatermark()) {
      if (this.stopping !== undefined) return;
      try {
        await this.pollRepository(repository);
      } catch (error) {
        if (this.stopping !== undefined) return;
        log.warn('gap-fill: could not poll a repository; trying again at the next poll', {
          repository,
          error,
        });
      }
    }
  }

  private async pollRepository(repository: string): Promise<void> {
    const { store, hg, graceMs } = this.options;
    const pageSize = this.options.pageSize ?? 100;
    const mark = await store.watermark(repository);
    if (mark === undefined) return;
    this.forgetUpTo(repository, mark);
    let head: number | undefined;
    let start = mark;
    let [queued, waiting] = [0, 0];
    const stuck: number[] = [];
    while (this.stopping === undefined && (head === undefined || start < head)) {
      const page = await hg.pushlogPage(repository, start, start + pageSize);
      if (head === undefined) {
        // The walk ends at the newest push the first page named, so that a poll ends.
        head = page.lastpushid;
        this.options.metrics.gapFill.pushesBehind.set({ repository }, Math.max(0, head - mark));
      }
      const upTo = Math.min(start + pageSize, head);
      if (upTo <= start) break;
      const readAt = this.now();
      this.saw(repository, upTo, readAt);
      const settled = new Set(await store.settledPushes(repository, start, upTo));
      for (let pushId = start + 1; pushId <= upTo; pushId += 1) {
        const entry = page.pushes[String(pushId)];
        if (settled.has(pushId)) this.attempts.get(repository)?.delete(pushId);
        if (settled.has(pushId) || entry === undefined || this.isRunning(repository, pushId)) {
          continue;
        }
        if (readAt - this.firstSeen(repository, pushId) < graceMs) {
          waiting += 1;
          continue;
        }
        if ((this.attempts.get(repository)?.get(pushId) ?? 0) >= WARN_AFTER_POLLS) {
          stuck.push(pushId);
        }
        if (!(await this.slot())) return;
        // The gate may have kept it a while: a live message may have settled it meanwhile.
        if ((await store.settledPushes(repository, pushId - 1, pushId)).length > 0) continue;
        if (this.stopping !== undefined) return;
        this.emit(repository, pushId, entry.changesets);
        queued += 1;
      }
      start = upTo;
    }
    if (this.stopping !== undefined || head === undefined) return;
    if (queued + waiting > 0) {
      log.info('gap-fill: the pushlog has pushes the watermark has not passed', {
        repository,
        watermark: mark,
        head,
        pushesBehind: Math.max(0, head - mark),
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

  private emit(repository: string, pushId: number, nodes: readonly string[]): void {
    const job: SettlingJob = {
      label: `gap-fill push ${pushId}`,
      target: { kind: 'push', repository, pushId, nodes },
      receivedAt: Date.now(),
      settle: (result) => this.settle(result),
    };
    this.running.set(job, `${repository} ${pushId}`);
    this.counters.queued += 1;
    this.emitted.next(job);
  }

  private isRunning(repository: string, pushId: number): boolean {
    const key = `${repository} ${pushId}`;
    for (const running of this.running.values()) if (running === key) return true;
    return false;
  }

  /** Resolves true once a gap-fill job may enter the pipeline, false if gap-fill stopped. */
  private slot(): Promise<boolean> {
    const maxJobs = this.options.maxJobs ?? 2;
    const liveBelow = this.options.liveBelow ?? 4;
    return new Promise((resolve) => {
      const check = (): boolean => {
        if (this.stopping !== undefined) resolve(false);
        else if (
          this.running.size < maxJobs &&
          this.options.liveInFlight() < liveBelow &&
          this.options.paused?.() !== true
        ) {
          resolve(true);
        } else return false;
        return true;
      };
      if (!check()) this.waiting.push(check);
    });
  }

  private drained(): void {
    const waiting = this.whenDrained;
    this.whenDrained = [];
    for (const resolve of waiting) resolve();
  }

  private async renewLease(leaseMs: number): Promise<void> {
    if (this.leaseHeld !== true || this.stopping !== undefined) return;
    try {
      this.leaseHeld = await this.options.store.takeLease(POLLER_LEASE, leaseMs);
      if (!this.leaseHeld) log.warn('gap-fill: lost the poller lease to another worker');
    } catch (error) {
      // Tried again in a third of the lease; the next poll asks for it anyway.
      log.warn('gap-fill: could not renew the poller lease', { error });
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
    return this.seen.get(repository)?.find((e) => e.upTo >= pushId)?.at ?? this.now();
  }

  /** What is at or below the watermark is settled: nothing to remember about it. */
  private forgetUpTo(repository: string, mark: number): void {
    const entries = this.seen.get(repository);
    if (entries !== undefined)
      this.seen.set(
        repository,
        entries.filter((e) => e.upTo > mark),
      );
    const tried = this.attempts.get(repository);
    for (const pushId of tried?.keys() ?? []) if (pushId <= mark) tried?.delete(pushId);
  }

  private attemptsOf(repository: string): Map<number, number> {
    let tried = this.attempts.get(repository);
    if (tried === undefined) this.attempts.set(repository, (tried = new Map()));
    return tried;
  }

  /** The pings a gap-fill job sent or found, as the worker counts a message's. */
  private countPings(result: JobOutcome): void {
    const { pings } = this.options.metrics;
    for (const [system, count] of Object.entries(sentBySystem(result.outcomes))) {
      pings.inc({ review_system: system, outcome: 'sent' }, count);
    }
    for (const [status, outcome] of [
      ['failed', 'failed'],
      ['skipped', 'already_sent'],
      ['held', 'held'],
    ] as const) {
      const count = result.outcomes.filter((o) => o.status === status).length;
      if (count > 0) pings.inc({ review_system: 'unclassified', outcome }, count);
    }
  }
}
