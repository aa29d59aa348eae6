/**
 * Polls `condition` until it holds; fails with `what` after `timeoutMs`. The first looks come
 * quickly, then further apart (10 ms, doubling up to 100 ms): a condition that holds at once
 * is seen at once, and one that takes seconds (a lease, a retry's delay) is not asked a
 * hundred times a second, which cost the whole suite a share of its two cores (many
 * conditions read a command's whole stderr).
 */
export const until = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let pauseMs = 10;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = Math.min(pauseMs * 2, 100);
  }
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
