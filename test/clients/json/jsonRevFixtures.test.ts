/** The recorded json-rev answers are shaped as hg.mozilla.org's, and the client reads them. */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHANGESET_FIELDS } from '../../../src/clients/json/jsonRev.js';
import { Changeset } from '../../../src/codecs/changeset.js';
import { decodeWith } from '../../../src/codecs/report.js';
import { configureLog } from '../../../src/log.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { fixtureRepos, syncedJsonRev } from '../../support/data/syncJsonRevFixtures.js';
import { upstreams } from '../upstreams.js';

configureLog({ level: 'silent' });

const fixtures = fixtureRepos().flatMap((repo) =>
  readdirSync(join(FIXTURES_DIR, 'hg', repo, 'json-rev')).map((file) => ({
    repo,
    node: file.replace(/\.json$/, ''),
    path: join(FIXTURES_DIR, 'hg', repo, 'json-rev', file),
    patch: join(FIXTURES_DIR, 'hg', repo, 'raw-rev', file.replace(/\.json$/, '.patch')),
  })),
);

test('there are json-rev fixtures in both repositories', (t) => {
  t.deepEqual(fixtureRepos().sort(), ['integration/autoland', 'mozilla-central']);
  t.true(fixtures.length >= 20);
});

test('every json-rev fixture carries files and diff shaped as hg.mozilla.org has them', (t) => {
  for (const { repo, node, path } of fixtures) {
    const { files, diff } = JSON.parse(readFileSync(path, 'utf8')) as {
      files: { file: string; status: string }[];
      diff: { blockno: number; lines: { t: string; n: number; l: string }[] }[];
    };
    const where = `${repo} ${node}`;
    t.true(files.length > 0 && diff.length > 0, where);
    t.deepEqual(
      files.map((f) => f.file),
      files.map((f) => f.file).sort(),
      `${where}: files sorted`,
    );
    for (const f of files) t.regex(f.status, /^(added|modified|removed)$/, where);
    diff.forEach((block, b) => {
      t.is(block.blockno, b + 1, where);
      block.lines.forEach((line, i) => {
        t.is(line.n, i + 1, where);
        t.is(line.t, '+-@'.includes(line.l[0] ?? ' ') ? line.l[0]! : '', where);
        t.true(line.l.endsWith('\n') && !line.l.startsWith('diff --git'), where);
      });
    });
  }
});

test('a json-rev fixture with a patch has the files and diff of that patch', (t) => {
  const withPatch = fixtures.filter(({ patch }) => existsSync(patch));
  t.is(withPatch.length, 6);
  for (const { path, patch } of withPatch) {
    const text = readFileSync(path, 'utf8');
    t.is(
      text,
      syncedJsonRev(text, readFileSync(patch, 'utf8')),
      `${path} is out of date: npx tsx test/support/data/syncJsonRevFixtures.ts`,
    );
  }
});

test('the client reads every json-rev fixture as JSON.parse and the codec would', async (t) => {
  const { fx, hg } = await upstreams();
  const decode = decodeWith(Changeset, 'json-rev answer');
  for (const { repo, node, path } of fixtures) {
    const whole = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const expected = decode(
      Object.fromEntries(Object.entries(whole).filter(([key]) => CHANGESET_FIELDS.has(key))),
    );
    t.true(expected.ok, `${repo} ${node}`);
    if (expected.ok) t.deepEqual(await hg.changeset(fx.repo(repo), node), expected.value);
  }
  await fx.close();
});
