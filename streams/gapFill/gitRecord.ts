import type { GitPushTarget } from '../../src/pipeline/job.js';

/** The store's git watermarks, as a push's settlement reads and moves them. */
export interface GitWatermarkWrites {
  gitWatermark(repository: string): Promise<string | undefined>;
  startGitWatermark(repository: string, sha: string): Promise<void>;
  gitPushSettled(repository: string, base: string, head: string): Promise<string | undefined>;
}

/**
 * Writes what a settled git push means for its branch's watermark. A live push starts the
 * watermark at its `before` if the branch has none; a settled one moves it from `before` to
 * `after` if it stood at `before`. The push that made the branch restarts an existing watermark
 * at its head: one left by a deleted branch of the same name would otherwise compare from the
 * old history, and send as landings here commits that landed on other branches.
 */
export const recordGitPush = async (
  store: GitWatermarkWrites,
  target: GitPushTarget,
  { settled, live }: { readonly settled: boolean; readonly live: boolean },
): Promise<void> => {
  const { repository, base, head } = target;
  if (live && target.created === true) {
    const old = await store.gitWatermark(repository);
    if (old !== undefined && old !== head) await store.gitPushSettled(repository, old, head);
  }
  if (live) await store.startGitWatermark(repository, base);
  if (settled) await store.gitPushSettled(repository, base, head);
};
