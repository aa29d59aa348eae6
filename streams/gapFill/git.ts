import { setTimeout as sleep } from 'node:timers/promises';
import { Subject, type Observable } from 'rxjs';
import type { GitHubClient } from '../../src/clients/github.js';
import { log } from '../../src/log.js';
import type { GitPushTarget, JobOutcome, Settlement, SettlingJob } from '../../src/pipeline/job.js';
import { isSettled } from '../../src/pipeline/operators/recordPush.js';
import type { LiveLoad, PolledSource } from '../../src/worker/source.js';
import type { GapFillConfig, GapFillMetrics, GapFillStore } from './config.js';
import { Gate } from './gate.js';
import { LostWatermarks } from './gitLost.js';
import { recordGitPush, type GitWatermarkWrites } from './gitRecord.js';
import { pollTimers, PollerLease } from './lease.js';
import { settledLine, type PingCounter } from './settled.js';

/** The lease that lets one worker of a fleet poll the git branches at a time. */
export const GIT_POLLER_LEASE = 'git-poller';

/** What git gap-fill needs of the store, declared here by its user: src/state's Store is one. */
export interface GitWatermarkStore
  extends GitWatermarkWrites, Pick<GapFillStore, 'takeLease' | 'releaseLease'> {
  gitRepositoriesWithWatermark(): Promise<string[]>;
}

export interface GitGapFillOptions extends Omit<GapFillConfig, 'store' | 'pageSize'> {
  readonly store: GitWatermarkStore;
  /** The branch heads, asked with the last ETag (a 304 costs no quota); rate limits waited out. */
  readonly github: Pick<GitHubClient, 'branchHead' | 'changeset'>;
  /** Whether a branch is one of GITHUB_BRANCHES: a watermark of one dropped is not polled. */
  readonly follows: (repository: string) => boolean;
  readonly metrics: { readonly gapFill: GapFillMetrics; readonly pings: PingCounter };
  readonly now?: () => number;
}

const IDLE: LiveLoad = { inFlight: () => 0, paused: () => false };

/**
 * Gap-fill for git branches: every `pollMs`, each branch with a git watermark has its head
 * asked, conditionally. A head the watermark has stayed behind for the grace period becomes
 * one gitPush job, watermark...head, through the pipeline (the ledger skips what a live
 * message sent meanwhile); settled, it moves the watermark. The watermarks themselves come
 * from live pushes only: the worker hands every settlement to `observe`, and the first push
 * of a branch starts its watermark at its `before`. A rate-limit wait in the client holds
 * the poll (no other poll starts meanwhile). One job per branch at a time, behind live
 * messages; nothing here throws into the worker.
 */
export class GitGapFillSource implements PolledSource {
  readonly counters = { polls: 0, queued: 0, settled: 0, unsettled: 0 };
  private readonly emitted = new Subject<SettlingJob>();
  readonly jobs: Observable<SettlingJob> = this.emitted.asObservable();
  private readonly running = new Set<string>();
  private readonly etags = new Map<string, string>();
  private readonly heads = new Map<string, string>();
  /** Per branch, since when its watermark has been seen behind its head (and at which mark). */
  private readonly behind = new Map<string, { mark: string; since: number }>();
  private readonly lease: PollerLease;
  private readonly gate: Gate;
  private readonly now: () => number;
  private readonly lost: LostWatermarks;
  private load = IDLE;
  private timers: NodeJS.Timeout[] = [];
  private polling: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: GitGapFillOptions) {
    this.now = options.now ?? Date.now;
    this.lost = new LostWatermarks(options.github, this.now);
    this.lease = new PollerLease(options.store, options.leaseMs ?? 60_000, GIT_POLLER_LEASE);
    const liveBelow = options.liveBelow ?? 4;
    this.gate = new Gate(
      () =>
        this.running.size < (options.maxJobs ?? 1) &&
        this.load.inFlight() < liveBelow &&
        !this.load.paused(),
      () => this.stopping !== undefined,
    );
  }

  start(load: LiveLoad = IDLE): void {
    if (this.timers.length > 0 || this.stopping !== undefined) return;
    this.load = load;
    this.timers = pollTimers(this.lease, this.options.pollMs, {
      poll: () => this.poll(),
      wake: () => this.wake(),
      stopped: () => this.stopping !== undefined,
    });
    this.poll();
  }

  wake(): void {
    this.gate.wake();
  }

  /** A live job settled: a git push starts its branch's watermark, and moves it if settled. */
  observe(settlement: Settlement): void {
    const target = settlement.result?.job.target;
    if (target?.kind !== 'gitPush' || settlement.result === undefined) return;
    const done = settlement.action === 'park' || isSettled(settlement.result);
    void this.record(target, done, true);
  }

  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      this.gate.wake();
      await Promise.race([this.polling, sleep(graceMs, undefined, { ref: false })]);
      await this.lease.release();
      this.emitted.complete();
    })();
    return this.stopping;
  }

  private async record(target: GitPushTarget, settled: boolean, live: boolean): Promise<void> {
    try {
      await recordGitPush(this.options.store, target, { settled, live });
    } catch (error) {
      // The next poll compares from wherever the watermark stands: nothing is lost.
      log.warn('gap-fill: could not record a git push in the store', {
        repository: target.repository,
        error,
      });
    }
  }

  private poll(): void {
    if (this.stopping !== undefined || this.polling !== undefined) return;
    this.polling = this.pollOnce()
      .catch((error: unknown) => {
        if (this.stopping === undefined) log.warn('gap-fill: the git poll failed', { error });
      })
      .finally(() => (this.polling = undefined));
  }

  private async pollOnce(): Promise<void> {
    if (!(await this.lease.take()) || this.stopping !== undefined) return;
    this.counters.polls += 1;
    const watermarked = await this.options.store.gitRepositoriesWithWatermark();
    for (const repository of watermarked.filter(this.options.follows)) {
      if (this.stopping !== undefined) return;
      await this.pollBranch(repository).catch((error: unknown) => {
        log.warn('gap-fill: could not poll a git branch; trying again at the next poll', {
          repository,
          error,
        });
      });
    }
  }

  private async pollBranch(repository: string): Promise<void> {
    const { store, github, graceMs } = this.options;
    if (this.running.has(repository)) return;
    const answer = await github.branchHead(repository, this.etags.get(repository));
    if (answer !== 'unchanged') {
      this.heads.set(repository, answer.sha);
      if (answer.etag === undefined) this.etags.delete(repository);
      else this.etags.set(repository, answer.etag);
    }
    const head = this.heads.get(repository);
    const mark = await store.gitWatermark(repository);
    if (head === undefined || mark === undefined || head === mark) {
      this.behind.delete(repository);
      return;
    }
    const seen = this.behind.get(repository);
    if (seen === undefined || seen.mark !== mark) {
      this.behind.set(repository, { mark, since: this.now() });
      if (graceMs > 0) return;
    } else if (this.now() - seen.since < graceMs) return;
    if (!(await this.gate.pass())) return;
    // The gate may have kept it a while: a live push may have moved the watermark meanwhile.
    const base = await store.gitWatermark(repository);
    if (base === undefined || base === head || this.stopping !== undefined) return;
    log.info('gap-fill: a git branch is ahead of its watermark', { repository, base, head });
    this.emit({ kind: 'gitPush', repository, base, head });
  }

  private emit(target: GitPushTarget): void {
    const range = `${target.base.slice(0, 12)}...${target.head.slice(0, 12)}`;
    this.running.add(target.repository);
    this.counters.queued += 1;
    this.emitted.next({
      label: `gap-fill ${range}`,
      target,
      receivedAt: Date.now(),
      settle: (result) => this.settle(target, result),
    });
  }

  private async settle(target: GitPushTarget, result: JobOutcome): Promise<void> {
    const settled = settledLine(result, this.options.metrics);
    this.counters[settled ? 'settled' : 'unsettled'] += 1;
    // Asked of every job: one that settled ends its branch's count of 404s (and is not lost).
    const lost = await this.lost.gone(target, result);
    await this.record(target, settled || lost, false);
    this.running.delete(target.repository);
    this.gate.wake();
  }
}
