import test from 'ava';
import type { GitCommit } from '../../../src/codecs/github.js';
import { Node } from '../../../src/codecs/scalars.js';
import { GitCompareSource } from '../../../streams/git/compareSource.js';

const REPOSITORY = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
/** A sha made of one hex digit, named by it. */
const sha = (digit: string): Node => {
  const node = digit.repeat(40);
  if (!Node.is(node)) throw new Error(`${digit} is not a hex digit`);
  return node;
};
const BASE = sha('0');
const HEAD = sha('f');

const commit = (name: string, ...parents: string[]): GitCommit => ({
  node: sha(name),
  desc: `commit ${name}`,
  user: 'A <a@example.com>',
  parents: parents.map(sha),
  pushdate: [0, 0],
  landingsystem: null,
});

/** A source over commits compare listed in this order, the range read to its end. */
const listed = async (...commits: GitCommit[]): Promise<GitCompareSource> => {
  const git = {
    async *compare() {
      yield* commits;
    },
  };
  const source = new GitCompareSource(git, { repository: REPOSITORY, base: BASE, head: HEAD });
  const jobs = [];
  for await (const job of source.jobs()) jobs.push(job);
  if (jobs.length !== commits.length) throw new Error(`${jobs.length} jobs`);
  return source;
};

test('in ancestry order, a resume starts after the last commit done; all done is HEAD', async (t) => {
  const source = await listed(commit('a', '0'), commit('b', 'a'), commit('c', 'b'));
  t.is(source.resumePoint(0), BASE);
  t.is(source.resumePoint(2), sha('b'));
  t.is(source.resumePoint(3), HEAD);
});

test('a parent listed after its child (dates out of order) and not done holds the resume before the child and its descendants', async (t) => {
  // c merges b, which compare listed after c: a compare from c would leave b out, not done.
  const merge = await listed(commit('a', '0'), commit('c', 'a', 'b'), commit('b', 'a'));
  t.is(merge.resumePoint(2), sha('a'));
  const line = await listed(commit('a', '0'), commit('c', 'b'), commit('d', 'c'), commit('b', 'a'));
  t.is(line.resumePoint(3), sha('a'), 'd descends from c, whose parent b is not done');
});

test('a parent from outside the range does not hold the resume', async (t) => {
  // e merges 9, a commit BASE already has (a merge of mozilla-central, say).
  const source = await listed(commit('a', '0'), commit('e', 'a', '9'), commit('d', 'e'));
  t.is(source.resumePoint(2), sha('e'));
});

test('a root commit (a history merged in) is no place to resume from', async (t) => {
  const source = await listed(commit('a', '0'), commit('b'), commit('e', 'a', 'b'));
  t.is(source.resumePoint(2), sha('a'));
});
