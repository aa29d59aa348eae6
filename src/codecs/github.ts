/**
 * The GitHub REST API's answers, as far as this service reads them: everything else in them is
 * ignored, so a field GitHub adds or drops elsewhere changes nothing here.
 */
import * as t from 'io-ts';
import type { Changeset } from './changeset.js';
import { Node, NonNegativeInt } from './scalars.js';

/** `"2026-03-01T12:00:00Z"`, the form GitHub writes every date in. */
const IsoDate = t.brand(
  t.string,
  (s): s is t.Branded<string, { readonly IsoDate: unique symbol }> =>
    Number.isFinite(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s),
  'IsoDate',
);

const Person = t.type({ name: t.string, email: t.string, date: IsoDate }, 'GitPerson');

/** One commit as compare and commits/{sha} list it. */
export const GitHubCommit = t.type(
  {
    sha: Node,
    commit: t.type({ author: Person, committer: Person, message: t.string }),
    parents: t.array(t.type({ sha: Node })),
  },
  'GitHubCommit',
);
export type GitHubCommit = t.TypeOf<typeof GitHubCommit>;

/** `GET /repos/{o}/{r}/compare/{base}...{head}`: one page of the commits, oldest first. */
export const GitHubCompare = t.type(
  { total_commits: NonNegativeInt, commits: t.array(GitHubCommit) },
  'GitHubCompare',
);
export type GitHubCompare = t.TypeOf<typeof GitHubCompare>;

/** One file of a commit: the lines it adds and removes (`git diff --numstat`'s columns). */
export const GitHubFile = t.type(
  { filename: t.string, additions: NonNegativeInt, deletions: NonNegativeInt },
  'GitHubFile',
);

/** `GET /repos/{o}/{r}/commits/{sha}`: its totals and one page of its files. */
export const GitHubCommitDetail = t.intersection(
  [
    GitHubCommit,
    t.type({
      stats: t.type({ additions: NonNegativeInt, deletions: NonNegativeInt }),
      files: t.array(GitHubFile),
    }),
  ],
  'GitHubCommitDetail',
);
export type GitHubCommitDetail = t.TypeOf<typeof GitHubCommitDetail>;

/** `GET /repos/{o}/{r}/branches/{branch}`: its head commit. */
export const GitHubBranch = t.type(
  { name: t.string, commit: t.type({ sha: Node }) },
  'GitHubBranch',
);
export type GitHubBranch = t.TypeOf<typeof GitHubBranch>;

/** A commit as the review rules and the ping read it, in the shape hg's json-rev has. */
export interface GitCommit extends Changeset {
  readonly landingsystem: null;
}

/**
 * The commit as the pipeline reads a changeset: the author as `Name <email>` (hg's `user`),
 * the committer date as the push date in UTC seconds (on a branch fed by a landing bot, it is
 * when the commit landed), no landing system.
 */
export const toGitCommit = (commit: GitHubCommit): GitCommit => ({
  node: commit.sha,
  desc: commit.commit.message,
  user: `${commit.commit.author.name} <${commit.commit.author.email}>`,
  parents: commit.parents.map((p) => p.sha),
  pushdate: [Math.trunc(Date.parse(commit.commit.committer.date) / 1000), 0],
  landingsystem: null,
});
