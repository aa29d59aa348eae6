import type { GitHubClient } from '../../src/clients/github.js';
import type { Job } from '../../src/pipeline/job.js';

export interface CommitRange {
  /** `<web>/<owner>/<repo>/tree/<branch>`, as the pings name it. */
  readonly repository: string;
  /** Excluded, with everything reachable from it. */
  readonly base: string;
  readonly head: string;
}

/**
 * A git backfill's source: the commits reachable from `head` and not from `base`, read page by
 * page from GitHub's compare (oldest first) as the pipeline asks for them, one job per commit
 * carrying the commit as compare listed it (so it is not asked for again). Job `n` (from 1) is
 * the n-th commit: `ordinal` names it for a checkpoint. It ends with the range, on a page
 * that cannot be read (`failure` says why), or at once on `stop()`.
 */
export class GitCompareSource {
  failure: unknown = undefined;
  private stopped = false;
  /** The shas handed out, in order: `shaAt(n)` is the n-th, `shaAt(0)` the base. */
  private readonly shas: string[] = [];
  /** The parents of each commit handed out, by sha. */
  private readonly parentsOf = new Map<string, readonly string[]>();
  /** Whether compare listed the range to its end. */
  private listedWhole = false;

  constructor(
    private readonly git: Pick<GitHubClient, 'compare'>,
    private readonly range: CommitRange,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  shaAt(ordinal: number): string {
    return ordinal === 0 ? this.range.base : (this.shas[ordinal - 1] ?? this.range.base);
  }

  /**
   * Where a resume may start once the first `done` commits are done. A compare from a commit
   * leaves out everything reachable from it, and compare lists commits by date, which can
   * disagree with ancestry (clocks differ): resuming after a done commit whose parent was
   * listed after it, and is not done, would leave that parent out for good. So the resume
   * starts after the last done commit that neither has such a parent nor descends from one
   * that has; nor is a root (a history merged in: a compare from it would list BASE's own
   * history). A parent on a page not read yet cannot be seen here. Every commit of a range
   * listed to its end and done: HEAD, nothing to resume.
   */
  resumePoint(done: number): string {
    if (this.listedWhole && done >= this.shas.length) return this.range.head;
    const doneShas = new Set(this.shas.slice(0, done));
    const listedNotDone = new Set(this.shas.slice(done));
    const childrenOf = new Map<string, string[]>();
    const pending: string[] = [];
    for (const sha of doneShas) {
      const parents = this.parentsOf.get(sha) ?? [];
      if (parents.length === 0 || parents.some((p) => listedNotDone.has(p))) pending.push(sha);
      for (const p of parents) {
        const children = childrenOf.get(p) ?? [];
        children.push(sha);
        childrenOf.set(p, children);
      }
    }
    // Those, and every done commit that descends from one of them.
    const unsafe = new Set(pending);
    while (pending.length > 0) {
      for (const child of childrenOf.get(pending.pop()!) ?? []) {
        if (unsafe.has(child)) continue;
        unsafe.add(child);
        pending.push(child);
      }
    }
    for (let n = done; n > 0; n -= 1) if (!unsafe.has(this.shaAt(n))) return this.shaAt(n);
    return this.range.base;
  }

  /** The job's place in the range (1 for the first commit), or undefined for another job. */
  ordinal(job: Job): number | undefined {
    if (job.target.kind !== 'gitPush') return undefined;
    const at = this.shas.lastIndexOf(job.target.head);
    return at < 0 ? undefined : at + 1;
  }

  async *jobs(): AsyncGenerator<Job> {
    const { repository, base, head } = this.range;
    if (this.stopped) return;
    const commits = this.git.compare(repository, base, head)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await commits.next();
        if (next.done === true) {
          this.listedWhole = true;
          return;
        }
        if (this.stopped) return;
        const commit = next.value;
        const previous = this.shaAt(this.shas.length);
        this.shas.push(commit.node);
        this.parentsOf.set(commit.node, commit.parents);
        yield {
          label: `commit ${commit.node.slice(0, 12)}`,
          target: {
            kind: 'gitPush',
            repository,
            base: previous,
            head: commit.node,
            commits: [commit],
          },
          receivedAt: Date.now(),
        };
      }
    } catch (error) {
      this.failure = error;
    } finally {
      await commits.return?.();
    }
  }
}
