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
        if (next.done === true || this.stopped) return;
        const commit = next.value;
        const previous = this.shaAt(this.shas.length);
        this.shas.push(commit.node);
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
