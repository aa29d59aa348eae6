/**
 * Where a command's wall time went, seen from an upstream that allows `concurrency` requests
 * at a time: before its first request (start-up), between its first request and its last
 * answer (busy, plus the slots it left idle there, as seconds of all slots idle), and after
 * its last answer (the tail: the last changesets' other requests, the store's last writes,
 * exit). The three add up to the wall, as the bench measured it around the child process.
 * Undefined when the upstream answered nothing.
 */
export interface Answer {
  readonly arrivedMs: number;
  readonly finishedMs: number;
}

export interface WallBreakdown {
  readonly startSeconds: number;
  /** The stand-in's own answer times, summed, / concurrency: the part no client can save. */
  readonly busySeconds: number;
  /** The rest of the middle: time the client kept fewer than `concurrency` requests open. */
  readonly idleSeconds: number;
  readonly tailSeconds: number;
}

export const wallBreakdown = (
  spawnedMs: number,
  closedMs: number,
  answers: readonly Answer[],
  concurrency: number,
): WallBreakdown | undefined => {
  if (answers.length === 0) return undefined;
  // A loop, not Math.min(...spread): a long run has more answers than arguments may be.
  let first = Infinity;
  let last = -Infinity;
  let answering = 0;
  for (const { arrivedMs, finishedMs } of answers) {
    first = Math.min(first, arrivedMs);
    last = Math.max(last, finishedMs);
    answering += finishedMs - arrivedMs;
  }
  const busy = answering / concurrency;
  return {
    startSeconds: (first - spawnedMs) / 1000,
    busySeconds: busy / 1000,
    idleSeconds: (last - first - busy) / 1000,
    tailSeconds: (closedMs - last) / 1000,
  };
};
