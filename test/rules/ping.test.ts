import test from 'ava';
import { Changeset } from '../../src/codecs/changeset.js';
import { Ping, type Diffstat, type ReviewSystem } from '../../src/codecs/ping.js';
import type { Decoded } from '../../src/codecs/report.js';
import { buildPing, documentId, type PingFacts } from '../../src/rules/ping.js';

const NODE = '62a578a28fe94efb7f03138bbfaa458d1c31314e';
const REPOSITORY = 'https://hg.mozilla.org/integration/autoland';

/** A json-rev answer decoded through its codec, so the brands are real; `undefined` removes a key. */
const changeset = (overrides: Record<string, unknown> = {}): Changeset => {
  const answer: Record<string, unknown> = {
    node: NODE,
    desc: 'Bug 1463962 - summary line, r=jamie\n\nlonger body',
    user: 'Name <name@example.com>',
    parents: ['3659a2ff799f0a531283d22d112b08eb23a9ced7'],
    date: [1537934817.0, -28800],
    pushid: 34713,
    pushdate: [1537966541, 0],
    pushuser: 'someone@mozilla.com',
    landingsystem: 'lando',
    ...overrides,
  };
  for (const key of Object.keys(overrides)) if (overrides[key] === undefined) delete answer[key];
  const decoded = Changeset.decode(answer);
  if (decoded._tag === 'Left') throw new Error('bad changeset fixture');
  return decoded.right;
};

const DIFFSTAT = { changedFiles: 2, additions: 10, deletions: 3 } as Diffstat;

const facts = (more: Partial<PingFacts> = {}): PingFacts => ({
  changeset: changeset(),
  repository: REPOSITORY,
  reviewSystem: 'phabricator',
  diffstat: DIFFSTAT,
  ...more,
});

const valueOf = <A>(decoded: Decoded<A>): A => {
  if (!decoded.ok) throw new Error(decoded.error.message);
  return decoded.value;
};
const problemsOf = <A>(decoded: Decoded<A>): readonly string[] => {
  if (decoded.ok) throw new Error(`expected a failure, got ${JSON.stringify(decoded.value)}`);
  return decoded.error.problems;
};

const expectedDiffstat: readonly (readonly [ReviewSystem, Diffstat | null])[] = [
  ['phabricator', DIFFSTAT],
  ['bmo', DIFFSTAT],
  ['mozreview', null],
  ['no_bug', null],
  ['review_unneeded', null],
  ['unknown', null],
  ['not_applicable', null],
];

for (const [reviewSystem, diffstat] of expectedDiffstat) {
  test(`buildPing for ${reviewSystem} has diffstat ${JSON.stringify(diffstat)}`, (t) => {
    t.deepEqual(valueOf(buildPing(facts({ reviewSystem }))), {
      changesetID: NODE,
      reviewSystemUsed: reviewSystem,
      repository: REPOSITORY,
      diffstat,
      landingSystem: 'lando',
      pushDate: 1537966541,
    });
  });
}

test('the changeset fixture really lacks landingsystem when told to', (t) => {
  t.false('landingsystem' in changeset({ landingsystem: undefined }));
});

test('buildPing: phabricator without a diffstat gives null', (t) => {
  t.is(valueOf(buildPing(facts({ diffstat: undefined }))).diffstat, null);
});

const pushDates: readonly (readonly [[number, number], number])[] = [
  [[1537966541, 0], 1537966541],
  [[1537966541, 3600], 1537970141],
  [[1537966541, -28800], 1537937741],
  [[1537966541.75, 0], 1537966541],
];

for (const [pushdate, expected] of pushDates) {
  test(`buildPing: pushdate ${JSON.stringify(pushdate)} gives pushDate ${expected}`, (t) => {
    const ping = valueOf(buildPing(facts({ changeset: changeset({ pushdate }) })));
    t.is<number | undefined, number>(ping.pushDate, expected);
  });
}

test('buildPing: a push time that ends up negative fails the ping check', (t) => {
  const decoded = buildPing(facts({ changeset: changeset({ pushdate: [100, -200] }) }));
  t.deepEqual(problemsOf(decoded), ['pushDate: expected NonNegativeInt, got -100']);
  t.is(
    decoded.ok ? '' : decoded.error.message,
    'invalid ping: pushDate: expected NonNegativeInt, got -100',
  );
});

const landingSystems: readonly (readonly [string, Record<string, unknown>, string | null])[] = [
  ['missing', { landingsystem: undefined }, null],
  ['null', { landingsystem: null }, null],
  ['"lando"', { landingsystem: 'lando' }, 'lando'],
  ['"mozreview"', { landingsystem: 'mozreview' }, 'mozreview'],
  ['empty', { landingsystem: '' }, ''],
];

for (const [title, overrides, expected] of landingSystems) {
  test(`buildPing: landingsystem ${title} gives landingSystem ${JSON.stringify(expected)}`, (t) => {
    const ping = valueOf(buildPing(facts({ changeset: changeset(overrides) })));
    t.is(ping.landingSystem, expected);
  });
}

const repositories: readonly (readonly [string, string])[] = [
  ['https://hg.mozilla.org/mozilla-central', 'https://hg.mozilla.org/mozilla-central'],
  ['https://hg.mozilla.org/mozilla-central/', 'https://hg.mozilla.org/mozilla-central'],
  ['https://hg.mozilla.org/integration/autoland//', 'https://hg.mozilla.org/integration/autoland'],
  ['http://127.0.0.1:8080/try', 'http://127.0.0.1:8080/try'],
];

for (const [repository, expected] of repositories) {
  test(`buildPing: repository ${repository} is sent as ${expected}`, (t) => {
    t.is<string, string>(valueOf(buildPing(facts({ repository }))).repository, expected);
  });
}

const invalid: readonly (readonly [string, Partial<PingFacts>, readonly string[]])[] = [
  [
    'a node that is not 40 hex',
    { changeset: { ...changeset(), node: 'abc' as Changeset['node'] } },
    ['changesetID: expected Node, got "abc"'],
  ],
  [
    'an upper-case node',
    { changeset: { ...changeset(), node: NODE.toUpperCase() as Changeset['node'] } },
    [`changesetID: expected Node, got "${NODE.toUpperCase()}"`],
  ],
  [
    'a review system outside the schema',
    { reviewSystem: 'github' as ReviewSystem },
    ['reviewSystemUsed: expected ReviewSystem, got "github"'],
  ],
  [
    'a repository that is not a URL',
    { repository: 'hg.mozilla.org/mozilla-central' },
    ['repository: expected RepositoryUrl, got "hg.mozilla.org/mozilla-central"'],
  ],
  [
    'a repository with no path',
    { repository: 'https://hg.mozilla.org/' },
    ['repository: expected RepositoryUrl, got "https://hg.mozilla.org"'],
  ],
  [
    'a negative diffstat count',
    { diffstat: { changedFiles: 1, additions: -1, deletions: 0 } as Diffstat },
    ['diffstat: expected (Diffstat | null), got {"changedFiles":1,"additions":-1,"deletions":0}'],
  ],
  [
    'several faults at once',
    {
      changeset: { ...changeset(), node: 'abc' as Changeset['node'] },
      repository: 'ftp',
      reviewSystem: 'github' as ReviewSystem,
    },
    [
      'changesetID: expected Node, got "abc"',
      'reviewSystemUsed: expected ReviewSystem, got "github"',
      'repository: expected RepositoryUrl, got "ftp"',
    ],
  ],
];

for (const [title, more, problems] of invalid) {
  test(`buildPing rejects ${title}`, (t) => {
    t.deepEqual(problemsOf(buildPing(facts(more))), problems);
  });
}

test('buildPing: a diffstat with an extra key is sent without it', (t) => {
  const diffstat = { ...DIFFSTAT, binaryFiles: 1 } as Diffstat;
  t.deepEqual(valueOf(buildPing(facts({ diffstat }))).diffstat, DIFFSTAT);
});

test('the encoded ping has exactly the schema keys', (t) => {
  const ping = valueOf(buildPing(facts()));
  t.deepEqual(Object.keys(Ping.encode(ping)).sort(), [
    'changesetID',
    'diffstat',
    'landingSystem',
    'pushDate',
    'repository',
    'reviewSystemUsed',
  ]);
});

test('Ping.encode drops keys the schema does not know, at every level', (t) => {
  const ping = valueOf(buildPing(facts()));
  const padded = {
    ...ping,
    desc: 'secret',
    node: NODE,
    diffstat: { ...DIFFSTAT, binaryFiles: 1 },
  } as unknown as Ping;
  t.deepEqual(Ping.encode(padded), {
    changesetID: NODE,
    reviewSystemUsed: 'phabricator',
    repository: REPOSITORY,
    diffstat: DIFFSTAT,
    landingSystem: 'lando',
    pushDate: 1537966541,
  });
});

const documentIds: readonly (readonly [string, string])[] = [
  [NODE, '62a578a2-8fe9-4efb-7f03-138bbfaa458d'],
  ['0123456789abcdef0123456789abcdef01234567', '01234567-89ab-cdef-0123-456789abcdef'],
  ['ffffffffffffffffffffffffffffffff00000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
];

for (const [node, expected] of documentIds) {
  test(`documentId(${node}) is ${expected}`, (t) => {
    const id = documentId(node);
    t.is(id, expected);
    t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
}
