import test from 'ava';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { Changeset } from '../../src/codecs/changeset.js';
import { Ping, type Diffstat, type ReviewSystem } from '../../src/codecs/ping.js';
import type { Decoded } from '../../src/codecs/report.js';
import {
  buildPing,
  DOCUMENT_ID_NAMESPACE,
  documentId,
  type PingFacts,
} from '../../src/rules/ping.js';
import { uuidV5 } from '../../src/rules/uuidV5.js';

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
  // Extra keys, as a value with more fields than the schema's would carry them.
  const padded: Ping = Object.assign({}, ping, {
    desc: 'secret',
    node: NODE,
    diffstat: { ...DIFFSTAT, binaryFiles: 1 },
  });
  t.deepEqual(Ping.encode(padded), {
    changesetID: NODE,
    reviewSystemUsed: 'phabricator',
    repository: REPOSITORY,
    diffstat: DIFFSTAT,
    landingSystem: 'lando',
    pushDate: 1537966541,
  });
});

// Computed apart from this code, with Python's uuid.uuid5(UUID(DOCUMENT_ID_NAMESPACE), f'{repository} {node}').
const documentIds: readonly (readonly [string, string, string])[] = [
  [REPOSITORY, NODE, 'f420b116-829a-5ac2-9a60-9e92cc90aa2e'],
  ['https://hg.mozilla.org/mozilla-central', NODE, '1baf3695-d0e1-56dc-a9a2-edb3648f1b5b'],
  [
    'https://github.com/mozilla-firefox/firefox/tree/main',
    '0123456789abcdef0123456789abcdef01234567',
    'b4115b74-61e6-5a67-a7aa-550565895ada',
  ],
];

for (const [repository, node, expected] of documentIds) {
  test(`documentId(${repository}, ${node.slice(0, 12)}) is ${expected}`, (t) => {
    const id = documentId(repository, node);
    t.is(id, expected);
    t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    t.is(documentId(`${repository}/`, node), id, 'the repository as the ping writes it');
  });
}

test('uuidV5 gives RFC 9562 example: www.example.com in the DNS namespace', (t) => {
  // RFC 9562, Appendix A.4.
  t.is(
    uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'),
    '2ed6657d-e927-568b-95e1-2665a8aea6a2',
  );
  t.throws(() => uuidV5('not-a-uuid', 'x'), { instanceOf: RangeError });
});

/** RFC 9562 §5.5 written out again, apart from uuidV5: SHA-1, 16 bytes, version and variant. */
const independentV5 = (name: string): string => {
  const digest = createHash('sha1')
    .update(Buffer.from(DOCUMENT_ID_NAMESPACE.split('-').join(''), 'hex'))
    .update(Buffer.from(name, 'utf8'))
    .digest('hex')
    .slice(0, 32)
    .split('');
  digest[12] = '5';
  digest[16] = '89ab'[parseInt(digest[16] ?? '0', 16) & 0b11] ?? '';
  const hex = digest.join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

test('documentId is the v5 UUID of "<repository> <node>", one per landing', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(REPOSITORY, 'https://hg.mozilla.org/mozilla-central', 'https://h/x'),
      fc.constantFrom('https://hg.mozilla.org/releases/mozilla-beta', 'https://h/y'),
      fc.stringMatching(/^[0-9a-f]{40}$/),
      (repository, other, node) => {
        const id = documentId(repository, node);
        t.is(id, independentV5(`${repository} ${node}`));
        t.not(id, documentId(other, node), 'another repository, another id');
        t.is(documentId(repository, node), id, 'the same landing, the same id');
      },
    ),
  );
});
