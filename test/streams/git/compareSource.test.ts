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

const commit = (name: string, ...parents: string[]): GitCommit => ({
  node: sha(name),
  desc: `commit ${name}`,
  user: 'A <a@example.com>',
  parents: parents.map(sha),
  pushdate: [0, 0],
  landingsystem: null,
});

/** A source over commits listed in this order, every job taken. */
const listed = async (...commits: GitCommit[]): Promise<GitCompareSource> => {
  const git = {
    async *compare() {
      yield* commits;
    },
  };
  const source = new GitCompareSource(git, { repository: REPOSITORY, base: BASE, head: 'f' });
  const jobs = [];
  for await (const job of source.jobs()) jobs.push(job);
  if (jobs.length !== commits.length) throw new Error(`${jobs.length} jobs`);
  return source;
};

test('in ancestry order, a resume starts after the last commit done', async (t) => {
  const source = await listed(commit('a', '0'), commit('b', 'a'), commit('c', 'b'));
  t.is(source.resumePoint(0), BASE);
  t.is(source.resumePoint(2), sha('b'));
  t.is(source.resumePoint(3), sha('c'));
});

test('an ancestor listed after its descendant (dates out of order) holds the resume before the descendant', async (t) => {
  // c merges b, which compare listed after c: a compare from c would leave b out, not done.
  const source = await listed(commit('a', '0'), commit('c', 'a', 'b'), commit('b', 'a'));
  t.is(source.resumePoint(2), sha('a'));
  // With b done too, every ancestor of each is done: the last one listed will do.
  t.is(source.resumePoint(3), sha('b'));
});

test('a parent outside the range, or not done, holds the resume before its commit and all below it', async (t) => {
  const source = await listed(commit('a', '0'), commit('e', 'a', '9'), commit('d', 'e'));
  t.is(source.resumePoint(3), sha('a'));
  const skewed = await listed(
    commit('a', '0'),
    commit('c', 'b'),
    commit('d', 'c'),
    commit('b', 'a'),
  );
  t.is(skewed.resumePoint(3), sha('a'), 'b, which c and d descend from, is not done');
  t.is(skewed.resumePoint(4), sha('b'));
});
