import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';

/** Marks the messages a replay parks again, so the same replay knows them when they come back. */
const REPLAY_RUN_HEADER = 'x-replay-run';

/**
 * One --replay-failed run: it takes the messages parked when it started, and ends when the
 * failed queue is empty, or when a message it parked again comes round (every earlier one was
 * taken), once none is in flight.
 */
export class ReplayRun {
  /** How many messages were parked at its start. */
  count = 0;
  private readonly run = randomUUID();
  private resolve: () => void = () => {};
  /** Resolves once every message parked at its start was taken. */
  readonly finished = new Promise<void>((resolve) => (this.resolve = resolve));

  /** Counts the parked messages; none is a replay done already. */
  start(parked: number): void {
    this.count = parked;
    if (parked === 0) this.resolve();
  }

  finish(): void {
    this.resolve();
  }

  /** The header a copy it parks again carries. */
  mark(): Record<string, string> {
    return { [REPLAY_RUN_HEADER]: this.run };
  }

  /** A message this replay parked again. */
  isOwn(message: ConsumeMessage): boolean {
    const headers = message.properties.headers as Record<string, unknown> | undefined;
    return headers?.[REPLAY_RUN_HEADER] === this.run;
  }

  /** Finishes if the failed queue is empty and nothing is in flight; a failure to ask is not. */
  async finishIfEmpty(depth: () => Promise<number>, idle: () => boolean): Promise<void> {
    const left = await depth().catch(() => undefined);
    if (left === 0 && idle()) this.resolve();
  }
}
