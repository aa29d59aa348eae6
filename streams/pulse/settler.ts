import { setTimeout as sleep } from 'node:timers/promises';
import type { Subject } from 'rxjs';
import { log } from '../../src/log.js';
import type { JobOutcome } from '../../src/pipeline/job.js';
import { ackOrNack, type AckChannel } from './ackOrNack.js';
import type { InFlight } from './inFlight.js';
import type { PulseLink } from './connection/link.js';
import type { PulseNames } from './connection/names.js';
import type { PulseOptions } from './connection/options.js';
import type { ReplayRun } from './parked/replayRun.js';
import {
  ATTEMPT_HEADER,
  copiedHeaders,
  FIRST_FAILURE_HEADER,
  retryStateOf,
  stepFor,
} from './retry.js';
import {
  errorText,
  parkedText,
  type Delivery,
  type Detail,
  type PulseCounters,
  type Settlement,
} from './settlement.js';
import { verdictFor, type Verdict } from './verdict.js';

/** What settling uses of the link: a unit test's stub stands in for it. */
export type SettlerLink = Pick<PulseLink, 'generation' | 'current' | 'copy'> & {
  readonly channel: AckChannel;
};

export interface SettlerParts {
  readonly link: SettlerLink;
  readonly names: PulseNames;
  readonly options: PulseOptions;
  readonly retryMaxAgeMs: number;
  readonly replay: ReplayRun | undefined;
  readonly inFlight: InFlight;
  readonly counters: PulseCounters;
  readonly settled: Subject<Settlement>;
  /** Messages waiting in the failed queue. */
  readonly failedDepth: () => Promise<number>;
}

/**
 * Settling: acks, retries later (a copy to a delay queue, retry.ts), defers, requeues, or
 * parks (a copy to the failed queue); a copy is confirmed by the broker before the ack.
 */
export class Settler {
  constructor(private readonly parts: SettlerParts) {}

  /** Settles a job's message by its outcome. */
  async settle(delivery: Delivery, result: JobOutcome): Promise<void> {
    const { options, replay } = this.parts;
    if (options.hold) return this.finish({ label: delivery.label, action: 'hold', result });
    // Attempts are counted in headers: a redelivery (a connection lost) is not an attempt.
    const decision = verdictFor(result, {
      // A replayed message was parked already: it gets no other try now.
      replay: replay !== undefined,
      firstFailureAt: retryStateOf(delivery.message).firstFailureAt,
      now: Date.now(),
      maxAgeMs: this.parts.retryMaxAgeMs,
      hostsUp: options.hostsUp?.(result) ?? true,
    });
    const parkReason = decision.verdict === 'park' ? decision.parkReason : undefined;
    await this.conclude(delivery, decision.verdict, { result, parkReason });
  }

  /** Settles a message that never became a job; a failure to is logged, never thrown. */
  concludeNow(delivery: Delivery, verdict: Verdict | 'skip', detail: Detail): void {
    this.conclude(delivery, verdict, detail).catch((error: unknown) =>
      log.error('could not settle a message; the broker will deliver it again', {
        job: delivery.label,
        error,
      }),
    );
  }

  private async conclude(delivery: Delivery, verdict: Verdict | 'skip', detail: Detail) {
    const { link, counters } = this.parts;
    let action = verdict;
    let retry: Settlement['retry'];
    if (action === 'park' && !(await this.park(delivery, detail))) action = 'requeue';
    if (action === 'retry') {
      retry = await this.retry(delivery, detail);
      if (retry === undefined) action = 'requeue';
    }
    // A pause, so that a message waiting on another process's claim, on hosts that are down,
    // or on a copy that could not be made, does not spin.
    const requeue = action === 'defer' || action === 'requeue';
    if (requeue) await sleep(this.parts.options.deferMs ?? 2000);
    // An ack or nack the channel refuses: it is closing, as good as closed (ackOrNack.ts).
    const told = link.current(delivery.generation) && ackOrNack(link.channel, delivery, requeue);
    if (!told) {
      const job = delivery.label;
      if (action === 'park' || action === 'retry') {
        // The copy is in the failed queue, or a delay queue, and the broker will deliver the
        // message again: both will be processed. Rare (the channel closed in between), never
        // a loss, and the ledger keeps the second from sending anything twice.
        if (action === 'park') counters.parkedTwice += 1;
        else counters.retriedTwice += 1;
        const done = action === 'park' ? 'parked' : 'sent to a delay queue';
        log.warn(`${done}, but its channel closed before the ack: it will come back too`, { job });
      } else {
        log.warn('its channel closed before the ack; the broker will deliver it again', { job });
      }
      const { reason, result } = detail;
      return this.finish({ label: delivery.label, action: 'requeue', reason, result });
    }
    if (action === 'defer') counters.deferred += 1;
    else if (action === 'requeue') counters.requeued += 1;
    else if (action === 'park') counters.parked += 1;
    else if (action === 'retry') counters.retried += 1;
    else counters.acked += 1;
    const { parkReason, ...rest } = detail;
    this.finish({
      label: delivery.label,
      action,
      ...rest,
      ...(action === 'park' ? { parkReason } : {}),
      ...(retry === undefined ? {} : { retry }),
    });
  }

  private finish(settlement: Settlement): void {
    const { inFlight, replay, failedDepth } = this.parts;
    const idle = inFlight.leave(() => this.parts.settled.next(settlement));
    if (idle) void replay?.finishIfEmpty(failedDepth, () => inFlight.size === 0);
  }

  /**
   * Copies the message to the failed queue and waits for the broker's confirm; the caller
   * then acks. Answers false when no copy was made (the message is requeued).
   */
  private async park(delivery: Delivery, detail: Detail): Promise<boolean> {
    const { names, replay } = this.parts;
    // Its channel is gone: the broker redelivers it anyway, so a copy now would be a duplicate.
    if (delivery.generation !== this.parts.link.generation) return false;
    try {
      const routed = await this.parts.link.copy(names.failedExchange, '', delivery.message, {
        ...copiedHeaders(delivery.message, names),
        'x-error': parkedText(detail, this.parts.retryMaxAgeMs).slice(0, 4000),
        'x-parked-at': new Date().toISOString(),
        ...(detail.parkReason === undefined ? {} : { 'x-park-reason': detail.parkReason }),
        ...(replay?.mark() ?? {}),
      });
      if (!routed) {
        log.error('no failed queue took the parked copy; requeueing it', { job: delivery.label });
        return false;
      }
      await this.parts.options.testHooks?.afterPark?.();
      return true;
    } catch (error) {
      log.error('could not park a message; requeueing it', { job: delivery.label, error });
      return false;
    }
  }

  /**
   * Sends a copy to the delay queue of its next attempt, with the attempts counted in its
   * headers, and waits for the broker's confirm; the caller then acks. Answers undefined when
   * no copy was made (the message is requeued).
   */
  private async retry(delivery: Delivery, detail: Detail): Promise<Settlement['retry']> {
    const { link, names } = this.parts;
    const { message, label: job } = delivery;
    // Its channel is gone: the broker redelivers it anyway, so a copy now would be a duplicate.
    if (delivery.generation !== link.generation) return undefined;
    const state = retryStateOf(message);
    const attempt = state.attempts + 1;
    const step = stepFor(names.retrySteps, attempt);
    const headers = {
      ...copiedHeaders(message, names),
      [ATTEMPT_HEADER]: attempt,
      [FIRST_FAILURE_HEADER]: new Date(state.firstFailureAt ?? Date.now()).toISOString(),
      'x-error': errorText(detail).slice(0, 4000),
    };
    try {
      if (!(await link.copy(names.delayExchange, step.name, message, headers))) {
        log.error('no delay queue took the retry; requeueing it', { job });
        return undefined;
      }
      await this.parts.options.testHooks?.afterRetry?.();
      return { attempt, step: step.name, delayMs: step.delayMs };
    } catch (error) {
      log.error('could not send a message to its delay queue; requeueing it', { job, error });
      return undefined;
    }
  }
}
