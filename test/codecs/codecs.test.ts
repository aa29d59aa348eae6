import test from 'ava';
import type * as t from 'io-ts';
import { AttachmentsAnswer, BugzillaError, HistoryAnswer } from '../../src/codecs/bugzilla.js';
import { Changeset } from '../../src/codecs/changeset.js';
import { Ping } from '../../src/codecs/ping.js';
import { ChangegroupMessage, HgPushEnvelope } from '../../src/codecs/pulseMessage.js';
import { decodeJsonWith } from '../../src/codecs/decodeJson.js';
import { PushlogPage } from '../../src/codecs/pushlog.js';
import { decodeWith, DecodeError, type Decoded } from '../../src/codecs/report.js';
import {
  MetricsSettings,
  PulseSettings,
  TargetRepoSettings,
  TelemetrySettings,
  UpstreamSettings,
} from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';

const NODE = '62a578a28fe94efb7f03138bbfaa458d1c31314e';
const PARENT = '3659a2ff799f0a531283d22d112b08eb23a9ced7';

const problemsOf = <A>(decoded: Decoded<A>): readonly string[] => {
  if (decoded.ok) throw new Error(`expected a failure, got ${JSON.stringify(decoded.value)}`);
  return decoded.error.problems;
};
const valueOf = <A>(decoded: Decoded<A>): A => {
  if (!decoded.ok) throw new Error(decoded.error.message);
  return decoded.value;
};

// ---------------------------------------------------------------------------------------------
// Realistic samples, in the shapes the services answer (see fixtures/README.md).

const changegroupMessage = {
  payload: {
    type: 'changegroup.1',
    data: {
      repo_url: 'https://hg.mozilla.org/integration/autoland',
      heads: [NODE],
      source: 'push',
      pushlog_pushes: [
        {
          pushid: 64752,
          time: 1527872156,
          user: 'someone@mozilla.com',
          push_json_url:
            'https://hg.mozilla.org/integration/autoland/json-pushes?version=2&startID=64751&endID=64752',
          push_full_json_url:
            'https://hg.mozilla.org/integration/autoland/json-pushes?version=2&full=1&startID=64751&endID=64752',
        },
      ],
    },
  },
  _meta: {
    exchange: 'exchange/hgpushes/v2',
    routing_key: 'integration/autoland',
    serializer: 'json',
    sent: '2018-06-01T17:02:36.123456',
  },
};

const newRepoMessage = {
  payload: { type: 'newrepo.1', data: { repo_url: 'https://hg.mozilla.org/projects/x' } },
  _meta: { exchange: 'exchange/hgpushes/v2', routing_key: 'projects/x' },
};

const pushlogPage = {
  lastpushid: 120040,
  pushes: {
    '120039': { changesets: [PARENT], date: 1460975001, user: 'a@b.c' },
    '120040': { changesets: [PARENT, NODE], date: 1460975081, user: 'a@b.c' },
  },
};

const jsonRev = {
  node: NODE,
  desc: 'Bug 1463962 - summary line, r=jamie\n\nlonger body',
  user: 'Name <name@example.com>',
  parents: [PARENT],
  date: [1537934817.0, -28800],
  pushid: 34713,
  pushdate: [1537966541, 0],
  pushuser: 'someone@mozilla.com',
  landingsystem: 'lando',
};

const attachments = {
  bugs: {
    '1463962': [
      { content_type: 'text/x-phabricator-request', is_patch: 0, is_obsolete: 0, id: 9 },
      { content_type: 'text/plain', is_patch: 1, is_obsolete: 1, file_name: 'fix.patch' },
    ],
  },
  attachments: {},
};

const history = {
  bugs: [
    {
      id: 1463962,
      alias: null,
      history: [
        {
          when: '2018-06-01T17:02:36Z',
          who: 'reviewer@mozilla.com',
          changes: [{ field_name: 'flagtypes.name', added: 'review+', removed: 'review?(x)' }],
        },
      ],
    },
  ],
};

const bugzillaError = {
  error: true,
  message: 'You are not authorized to access bug #1.',
  code: 102,
  documentation: 'https://bmo.readthedocs.io/en/latest/api/',
};

const ping = {
  changesetID: NODE,
  reviewSystemUsed: 'phabricator',
  repository: 'https://hg.mozilla.org/integration/autoland',
  diffstat: { changedFiles: 2, additions: 10, deletions: 3 },
  landingSystem: 'lando',
  pushDate: 1537966541,
};

/** [codec name, codec, sample]: every sample decodes. */
const valid: readonly (readonly [string, t.Mixed, unknown])[] = [
  ['ChangegroupMessage', ChangegroupMessage, changegroupMessage],
  ['HgPushEnvelope (changegroup.1)', HgPushEnvelope, changegroupMessage],
  ['HgPushEnvelope (newrepo.1)', HgPushEnvelope, newRepoMessage],
  ['PushlogPage', PushlogPage, pushlogPage],
  ['PushlogPage with no pushes', PushlogPage, { lastpushid: 5, pushes: {} }],
  ['Changeset', Changeset, jsonRev],
  ['Changeset, landingsystem null', Changeset, { ...jsonRev, landingsystem: null }],
  [
    'Changeset, merge, no landingsystem',
    Changeset,
    { ...jsonRev, parents: [PARENT, NODE], landingsystem: undefined },
  ],
  ['AttachmentsAnswer', AttachmentsAnswer, attachments],
  ['AttachmentsAnswer, bug without attachments', AttachmentsAnswer, { bugs: { '1': [] } }],
  ['HistoryAnswer', HistoryAnswer, history],
  ['BugzillaError', BugzillaError, bugzillaError],
  ['BugzillaError, bare', BugzillaError, { error: true }],
  ['Ping', Ping, ping],
  [
    'Ping, only required fields',
    Ping,
    { ...ping, diffstat: undefined, landingSystem: undefined, pushDate: undefined },
  ],
  [
    'Ping, null diffstat and landing system',
    Ping,
    { ...ping, diffstat: null, landingSystem: null },
  ],
];

for (const [name, codec, sample] of valid) {
  test(`${name}: a realistic sample decodes`, (t) => {
    t.true(decodeWith(codec, name)(sample).ok);
  });
}

test('ChangegroupMessage keeps the fields the pipeline reads', (t) => {
  const message = valueOf(decodeWith(ChangegroupMessage, 'message')(changegroupMessage));
  t.is(message.payload.data.repo_url, 'https://hg.mozilla.org/integration/autoland');
  t.deepEqual(
    message.payload.data.pushlog_pushes.map((p) => p.pushid),
    [64752],
  );
});

test('Ping decoding strips keys the schema does not know', (t) => {
  const decoded = valueOf(
    decodeWith(Ping, 'ping')({ ...ping, extra: 1, diffstat: { ...ping.diffstat, binary: 1 } }),
  );
  t.deepEqual(decoded, ping);
});

// ---------------------------------------------------------------------------------------------
// Invalid inputs, with the exact lines DecodeError.problems carries.

const withPush = (push: Record<string, unknown>) => ({
  payload: {
    type: 'changegroup.1',
    data: { repo_url: 'https://hg.mozilla.org/x', pushlog_pushes: [push] },
  },
});

/** [title, codec, input, problems] */
const invalid: readonly (readonly [string, t.Mixed, unknown, readonly string[]])[] = [
  [
    'ChangegroupMessage: bad push fields',
    ChangegroupMessage,
    withPush({ pushid: 'abc', push_json_url: 1 }),
    [
      'payload.data.pushlog_pushes.0.pushid: expected a push id (a whole number from 1 to 9007199254740991), got "abc"',
      'payload.data.pushlog_pushes.0.push_json_url: expected string, got 1',
    ],
  ],
  [
    'ChangegroupMessage: a fractional push id',
    ChangegroupMessage,
    withPush({ pushid: 1.5, push_json_url: 'https://hg.mozilla.org/x/json-pushes' }),
    [
      'payload.data.pushlog_pushes.0.pushid: expected a push id (a whole number from 1 to 9007199254740991), got 1.5',
    ],
  ],
  [
    'ChangegroupMessage: another message type',
    ChangegroupMessage,
    newRepoMessage,
    [
      'payload.type: expected "changegroup.1", got "newrepo.1"',
      'payload.data.pushlog_pushes: expected Array<PushlogPushRef>, got nothing',
    ],
  ],
  [
    'ChangegroupMessage: not an object',
    ChangegroupMessage,
    null,
    ['(root): expected ChangegroupMessage, got null'],
  ],
  [
    'HgPushEnvelope: no type',
    HgPushEnvelope,
    { payload: {} },
    ['payload.type: expected string, got nothing'],
  ],
  [
    'HgPushEnvelope: a string body',
    HgPushEnvelope,
    'changegroup.1',
    ['(root): expected HgPushEnvelope, got "changegroup.1"'],
  ],
  [
    'PushlogPage: bad push fields',
    PushlogPage,
    { lastpushid: 1, pushes: { '5': { changesets: ['abc'], date: '1', user: null } } },
    [
      'pushes.5.changesets.0: expected Node, got "abc"',
      'pushes.5.date: expected number, got "1"',
      'pushes.5.user: expected string, got null',
    ],
  ],
  [
    'PushlogPage: a push id not in plain decimal (a key no reader finds by its number)',
    PushlogPage,
    {
      lastpushid: 2,
      pushes: { '01': pushlogPage.pushes['120039'], '2': pushlogPage.pushes['120040'] },
    },
    [
      'pushes: expected pushes keyed by push ids in plain decimal, got {"2":{"changesets":["3659a2ff799f0a531283d22d112b08eb23a9...',
    ],
  ],
  [
    'PushlogPage: pushes as an array, no lastpushid',
    PushlogPage,
    { pushes: [] },
    [
      'lastpushid: expected Int, got nothing',
      'pushes: expected pushes keyed by push ids in plain decimal, got []',
    ],
  ],
  [
    'Changeset: many bad fields',
    Changeset,
    {
      ...jsonRev,
      node: NODE.toUpperCase(),
      desc: 1,
      parents: [PARENT, 'x'],
      pushdate: ['a', 0],
      landingsystem: 5,
    },
    [
      `node: expected Node, got "${NODE.toUpperCase()}"`,
      'desc: expected string, got 1',
      'parents.1: expected Node, got "x"',
      'pushdate.0: expected number, got "a"',
      'landingsystem: expected (string | null), got 5',
    ],
  ],
  [
    'Changeset: a short node prefix',
    Changeset,
    { ...jsonRev, node: NODE.slice(0, 12) },
    [`node: expected Node, got "${NODE.slice(0, 12)}"`],
  ],
  [
    'Changeset: pushdate too short',
    Changeset,
    { ...jsonRev, pushdate: [1537966541] },
    ['pushdate.1: expected number, got nothing'],
  ],
  [
    'Changeset: empty object',
    Changeset,
    {},
    [
      'node: expected Node, got nothing',
      'desc: expected string, got nothing',
      'user: expected string, got nothing',
      'parents: expected Array<Node>, got nothing',
      'pushdate: expected HgDate, got nothing',
    ],
  ],
  [
    'AttachmentsAnswer: bad flags',
    AttachmentsAnswer,
    { bugs: { '1': [{ content_type: 'text/plain', is_patch: 2, is_obsolete: true }] } },
    [
      'bugs.1.0.is_patch: expected 0 or 1, got 2',
      'bugs.1.0.is_obsolete: expected 0 or 1, got true',
    ],
  ],
  [
    'AttachmentsAnswer: no content type',
    AttachmentsAnswer,
    { bugs: { '1': [{ is_patch: 0, is_obsolete: 0 }] } },
    ['bugs.1.0.content_type: expected string, got nothing'],
  ],
  [
    'AttachmentsAnswer: bugs as an array',
    AttachmentsAnswer,
    { bugs: [] },
    ['bugs: expected { [K in string]: Array<Attachment> }, got []'],
  ],
  [
    'HistoryAnswer: bad id and change',
    HistoryAnswer,
    {
      bugs: [
        {
          id: '1',
          history: [
            { when: 'w', who: 'x', changes: [{ field_name: 'f', added: null, removed: 'r' }] },
          ],
        },
      ],
    },
    [
      'bugs.0.id: expected number, got "1"',
      'bugs.0.history.0.changes.0.added: expected string, got null',
    ],
  ],
  [
    'BugzillaError: error false',
    BugzillaError,
    { error: false },
    ['error: expected true, got false'],
  ],
  [
    'BugzillaError: an ordinary answer',
    BugzillaError,
    attachments,
    ['error: expected true, got nothing'],
  ],
  [
    'BugzillaError: bad optional fields',
    BugzillaError,
    { error: true, message: 1, code: 'x' },
    ['message: expected string, got 1', 'code: expected number, got "x"'],
  ],
  [
    'Ping: every field wrong',
    Ping,
    {
      changesetID: 'abc',
      reviewSystemUsed: 'github',
      repository: 'https://hg.mozilla.org/',
      diffstat: { changedFiles: -1, additions: 0, deletions: 0 },
      landingSystem: 1,
      pushDate: -1,
    },
    [
      'changesetID: expected Node, got "abc"',
      'reviewSystemUsed: expected ReviewSystem, got "github"',
      'repository: expected RepositoryUrl, got "https://hg.mozilla.org/"',
      'diffstat: expected (Diffstat | null), got {"changedFiles":-1,"additions":0,"deletions":0}',
      'landingSystem: expected (string | null), got 1',
      'pushDate: expected NonNegativeInt, got -1',
    ],
  ],
  [
    'Ping: a diffstat missing a count',
    Ping,
    { ...ping, diffstat: { changedFiles: 1, additions: 2 } },
    ['diffstat: expected (Diffstat | null), got {"changedFiles":1,"additions":2}'],
  ],
  [
    'Ping: a fractional push date',
    Ping,
    { ...ping, pushDate: 1.5 },
    ['pushDate: expected NonNegativeInt, got 1.5'],
  ],
  ['Ping: not an object', Ping, 5, ['(root): expected Ping, got 5']],
  [
    'Ping: a long bad value is shortened',
    Ping,
    { ...ping, repository: `ftp://${'x'.repeat(80)}` },
    [`repository: expected RepositoryUrl, got "ftp://${'x'.repeat(50)}...`],
  ],
];

for (const [title, codec, input, problems] of invalid) {
  test(`${title}: reported as ${JSON.stringify(problems)}`, (t) => {
    t.deepEqual(problemsOf(decodeWith(codec, 'value')(input)), problems);
  });
}

test('DecodeError names what failed and joins its problems', (t) => {
  const decoded = decodeWith(HgPushEnvelope, 'Pulse message')({ payload: { type: 1 } });
  t.false(decoded.ok);
  if (decoded.ok) return;
  t.true(decoded.error instanceof DecodeError);
  t.is(decoded.error.name, 'DecodeError');
  t.is(decoded.error.what, 'Pulse message');
  t.is(decoded.error.message, 'invalid Pulse message: payload.type: expected string, got 1');
});

// ---------------------------------------------------------------------------------------------
// Settings, read through readSettings with an explicit environment.

const UPSTREAM_DEFAULTS = {
  BMO_API_URL: 'https://bugzilla.mozilla.org/rest',
  ALLOWED_HOSTS: ['hg.mozilla.org', 'github.com'],
  HTTP_CONCURRENCY: 8,
  DEBUG: false,
  STREAM_DEADLINE_SECONDS: 300,
  MAX_ANSWER_MB: 32,
  BREAKER_FAILURES: 5,
  BREAKER_PROBE_SECONDS: 15,
  GITHUB_WEB_URL: 'https://github.com',
  GITHUB_API_URL: 'https://api.github.com',
  GITHUB_BRANCHES: ['main', 'autoland', 'beta', 'release', 'esr*'],
};

const TELEMETRY_DEFAULTS = {
  TMO_BASE_URL: 'https://incoming.telemetry.mozilla.org/submit',
  TMO_PING_NAMESPACE: 'eng-workflow',
  TMO_PING_DOCTYPE: 'hgpush',
  TMO_PING_DOCVERSION: '1',
};

const emptied = (defaults: object) =>
  Object.fromEntries(Object.keys(defaults).map((key) => [key, '']));

/** [codec name, codec, its defaults] */
const defaulted: readonly (readonly [string, t.Mixed, object])[] = [
  ['UpstreamSettings', UpstreamSettings, UPSTREAM_DEFAULTS],
  ['TelemetrySettings', TelemetrySettings, TELEMETRY_DEFAULTS],
];

for (const [name, codec, defaults] of defaulted) {
  test(`${name}: defaults when every variable is unset`, (t) => {
    t.deepEqual(valueOf(readSettings(codec, {})), defaults);
  });
  test(`${name}: defaults when every variable is empty`, (t) => {
    t.deepEqual(valueOf(readSettings(codec, emptied(defaults))), defaults);
  });
}

// Only the codec's own variables are checked: t.type passes unknown keys through, so the decoded
// value also carries the rest of the environment.
test('UpstreamSettings: values are parsed and trimmed, other variables not checked', (t) => {
  const settings = valueOf(
    readSettings(UpstreamSettings, {
      BMO_API_URL: ' http://127.0.0.1:8080/rest/ ',
      ALLOWED_HOSTS: 'HG.mozilla.org, 127.0.0.1:8080,[::1]:9000,',
      HTTP_CONCURRENCY: '100',
      DEBUG: 'Yes',
      TMO_BASE_URL: 'not read here',
    }),
  );
  t.like(settings, {
    BMO_API_URL: 'http://127.0.0.1:8080/rest',
    ALLOWED_HOSTS: ['hg.mozilla.org', '127.0.0.1:8080', '[::1]:9000'],
    HTTP_CONCURRENCY: 100,
    DEBUG: true,
  });
});

test('TelemetrySettings: values are parsed', (t) => {
  const settings = valueOf(
    readSettings(TelemetrySettings, {
      TMO_BASE_URL: 'https://example.com/submit/',
      TMO_PING_NAMESPACE: 'eng-workflow.test',
      TMO_PING_DOCTYPE: 'hg_push',
      TMO_PING_DOCVERSION: '2',
    }),
  );
  t.deepEqual(settings, {
    TMO_BASE_URL: 'https://example.com/submit',
    TMO_PING_NAMESPACE: 'eng-workflow.test',
    TMO_PING_DOCTYPE: 'hg_push',
    TMO_PING_DOCVERSION: '2',
  });
});

const booleans: readonly (readonly [string, boolean])[] = [
  ['true', true],
  ['1', true],
  ['on', true],
  ['FALSE', false],
  ['0', false],
  ['no', false],
  ['off', false],
];

for (const [text, expected] of booleans) {
  test(`UpstreamSettings: DEBUG=${text} is ${expected}`, (t) => {
    t.is(valueOf(readSettings(UpstreamSettings, { DEBUG: text })).DEBUG, expected);
  });
}

test('UpstreamSettings: every bad variable is named', (t) => {
  const decoded = readSettings(UpstreamSettings, {
    BMO_API_URL: 'ftp://bugzilla.mozilla.org/rest',
    ALLOWED_HOSTS: ', ,',
    HTTP_CONCURRENCY: '0',
    DEBUG: 'maybe',
  });
  t.deepEqual(problemsOf(decoded), [
    'BMO_API_URL: expected an http(s) URL without user:password@, got "ftp://bugzilla.mozilla.org/rest"',
    'ALLOWED_HOSTS: expected comma-separated host or host:port entries, as a URL names them (no :80 or :443), got ", ,"',
    'HTTP_CONCURRENCY: expected an integer from 1 to 100, got "0"',
    'DEBUG: expected true or false (also 1/0, yes/no), got "maybe"',
  ]);
});

test('TelemetrySettings: every bad variable is named', (t) => {
  const decoded = readSettings(TelemetrySettings, {
    TMO_BASE_URL: 'nope',
    TMO_PING_NAMESPACE: 'a/b',
    TMO_PING_DOCTYPE: ' ',
    TMO_PING_DOCVERSION: '1',
  });
  t.deepEqual(problemsOf(decoded), [
    'TMO_BASE_URL: expected an http(s) URL without user:password@, got "nope"',
    'TMO_PING_NAMESPACE: expected letters, digits, "-", "_" or ".", got "a/b"',
    'TMO_PING_DOCTYPE: expected letters, digits, "-", "_" or ".", got " "',
  ]);
});

const badConcurrency = ['101', '-1', '8.5', 'eight', '1e2'];

for (const text of badConcurrency) {
  test(`UpstreamSettings: HTTP_CONCURRENCY=${text} is refused`, (t) => {
    t.deepEqual(problemsOf(readSettings(UpstreamSettings, { HTTP_CONCURRENCY: text })), [
      `HTTP_CONCURRENCY: expected an integer from 1 to 100, got "${text}"`,
    ]);
  });
}

test('UpstreamSettings: the stream deadline and the answer cap are read', (t) => {
  t.like(
    valueOf(
      readSettings(UpstreamSettings, { STREAM_DEADLINE_SECONDS: '86400', MAX_ANSWER_MB: '1' }),
    ),
    { STREAM_DEADLINE_SECONDS: 86_400, MAX_ANSWER_MB: 1 },
  );
});

for (const [name, text, range] of [
  ['STREAM_DEADLINE_SECONDS', '0', '1 to 86400'],
  ['STREAM_DEADLINE_SECONDS', '86401', '1 to 86400'],
  ['STREAM_DEADLINE_SECONDS', '1.5', '1 to 86400'],
  ['MAX_ANSWER_MB', '0', '1 to 1024'],
  ['MAX_ANSWER_MB', '1025', '1 to 1024'],
  ['MAX_ANSWER_MB', 'lots', '1 to 1024'],
] as const) {
  test(`UpstreamSettings: ${name}=${text} is refused`, (t) => {
    t.deepEqual(problemsOf(readSettings(UpstreamSettings, { [name]: text })), [
      `${name}: expected an integer from ${range}, got "${text}"`,
    ]);
  });
}

test('UpstreamSettings: a host list with one bad entry is refused', (t) => {
  t.deepEqual(
    problemsOf(readSettings(UpstreamSettings, { ALLOWED_HOSTS: 'hg.mozilla.org,evil/x' })),
    [
      'ALLOWED_HOSTS: expected comma-separated host or host:port entries, as a URL names them (no :80 or :443), got "hg.mozilla.org,evil/x"',
    ],
  );
});

test('MetricsSettings: both ports are optional', (t) => {
  t.deepEqual(valueOf(readSettings(MetricsSettings, {})), {});
  t.deepEqual(valueOf(readSettings(MetricsSettings, { PORT: '5000' })), { PORT: 5000 });
});

test('MetricsSettings: an empty port is unset, as every other empty setting is', (t) => {
  const decoded = valueOf(readSettings(MetricsSettings, { METRICS_PORT: '', PORT: '5000' }));
  t.is(decoded.METRICS_PORT, undefined);
  t.is(decoded.PORT, 5000);
});

test('MetricsSettings: a bad port is named', (t) => {
  t.deepEqual(problemsOf(readSettings(MetricsSettings, { METRICS_PORT: '0', PORT: 'web' })), [
    'METRICS_PORT: expected an integer from 1 to 65535, got "0"',
    'PORT: expected an integer from 1 to 65535, got "web"',
  ]);
});

const PULSE_REQUIRED = {
  PULSE_USERNAME: 'commit-telemetry',
  PULSE_PASSWORD: 's3cret',
  PULSE_QUEUE_NAME: 'hgpushes',
  PULSE_QUEUE_ROUTING_KEY: 'integration/autoland',
};

test('PulseSettings: defaults beside the required variables', (t) => {
  t.deepEqual(valueOf(readSettings(PulseSettings, PULSE_REQUIRED)), {
    ...PULSE_REQUIRED,
    PULSE_EXCHANGE: 'exchange/hgpushes/v2',
    PULSE_HOST: 'pulse.mozilla.org',
    PULSE_PORT: 5671,
    PULSE_SSL: true,
    PULSE_VHOST: '/',
    RETRY_MAX_HOURS: 24,
    GITHUB_PUSH_EXCHANGE: 'exchange/taskcluster-github/v1/push',
  });
});

test('PulseSettings: explicit values win over defaults', (t) => {
  const settings = valueOf(
    readSettings(PulseSettings, {
      ...PULSE_REQUIRED,
      PULSE_EXCHANGE: 'exchange/test/v1',
      PULSE_HOST: 'localhost',
      PULSE_PORT: '5672',
      PULSE_SSL: 'false',
      PULSE_VHOST: 'test',
    }),
  );
  t.like(settings, {
    PULSE_EXCHANGE: 'exchange/test/v1',
    PULSE_HOST: 'localhost',
    PULSE_PORT: 5672,
    PULSE_SSL: false,
    PULSE_VHOST: 'test',
  });
});

test('PulseSettings: every missing required variable is reported at once', (t) => {
  t.deepEqual(problemsOf(readSettings(PulseSettings, {})), [
    'PULSE_USERNAME: expected a non-empty string, got nothing',
    'PULSE_PASSWORD: expected a non-empty string, got nothing',
    'PULSE_QUEUE_NAME: expected a non-empty string, got nothing',
    'PULSE_QUEUE_ROUTING_KEY: expected a non-empty string, got nothing',
  ]);
});

test('PulseSettings: empty or blank required variables and bad optional ones are named', (t) => {
  const decoded = readSettings(PulseSettings, {
    ...PULSE_REQUIRED,
    PULSE_USERNAME: ' ',
    PULSE_PASSWORD: '',
    PULSE_PORT: '70000',
    PULSE_SSL: 'nah',
  });
  t.deepEqual(problemsOf(decoded), [
    'PULSE_USERNAME: expected a non-empty string, got " "',
    'PULSE_PASSWORD: expected a non-empty string, got ""',
    'PULSE_PORT: expected an integer from 1 to 65535, got "70000"',
    'PULSE_SSL: expected true or false (also 1/0, yes/no), got "nah"',
  ]);
});

test('PulseSettings: the error message is prefixed with "invalid settings"', (t) => {
  const decoded = readSettings(PulseSettings, { ...PULSE_REQUIRED, PULSE_QUEUE_NAME: undefined });
  t.false(decoded.ok);
  if (decoded.ok) return;
  t.is(
    decoded.error.message,
    'invalid settings: PULSE_QUEUE_NAME: expected a non-empty string, got nothing',
  );
});

const targetRepos: readonly (readonly [string, Record<string, string>, string])[] = [
  ['unset', {}, 'https://hg.mozilla.org/mozilla-central'],
  ['empty', { TARGET_REPO: '' }, 'https://hg.mozilla.org/mozilla-central'],
  ['set', { TARGET_REPO: 'https://hg.mozilla.org/try' }, 'https://hg.mozilla.org/try'],
  [
    'with a trailing slash',
    { TARGET_REPO: 'https://hg.mozilla.org/try/' },
    'https://hg.mozilla.org/try',
  ],
];

for (const [title, env, expected] of targetRepos) {
  test(`TargetRepoSettings: TARGET_REPO ${title} gives ${expected}`, (t) => {
    t.deepEqual(valueOf(readSettings(TargetRepoSettings, env)), { TARGET_REPO: expected });
  });
}

test('TargetRepoSettings: a URL without a scheme is refused', (t) => {
  t.deepEqual(problemsOf(readSettings(TargetRepoSettings, { TARGET_REPO: 'hg.mozilla.org/try' })), [
    'TARGET_REPO: expected an http(s) URL without user:password@, got "hg.mozilla.org/try"',
  ]);
});

test('settings: a URL with credentials is refused without repeating them', (t) => {
  const decoded = readSettings(UpstreamSettings, {
    BMO_API_URL: 'https://bot:hunter2@bugzilla.mozilla.org/rest',
  });
  t.deepEqual(problemsOf(decoded), [
    'BMO_API_URL: expected an http(s) URL without user:password@, got "https://***@bugzilla.mozilla.org/rest"',
  ]);
});

// ---------------------------------------------------------------------------------------------
// decodeJsonWith: the one way an answer read as text is parsed and decoded.

test('decodeJsonWith: JSON of the right shape decodes', (t) => {
  const decode = decodeJsonWith(PushlogPage, 'json-pushes answer');
  t.deepEqual(valueOf(decode(Buffer.from('{"lastpushid": 2, "pushes": {}}'))), {
    lastpushid: 2,
    pushes: {},
  });
});

test('decodeJsonWith: text that is not JSON fails like a value of the wrong shape', (t) => {
  const decoded = decodeJsonWith(PushlogPage, 'json-pushes answer')('{"lastpushid": ');
  t.false(decoded.ok);
  if (decoded.ok) return;
  t.true(decoded.error instanceof DecodeError);
  t.is(decoded.error.message, 'invalid json-pushes answer: (root): not JSON');
});

test('decodeJsonWith: a field of the wrong type is named', (t) => {
  const decoded = decodeJsonWith(
    PushlogPage,
    'json-pushes answer',
  )('{"lastpushid": "2", "pushes": {}}');
  t.deepEqual(problemsOf(decoded), ['lastpushid: expected Int, got "2"']);
});

test('UpstreamSettings: LOG_LEVEL is one of four levels, any case; unset or empty is no level', (t) => {
  t.is(valueOf(readSettings(UpstreamSettings, { LOG_LEVEL: 'WARN' })).LOG_LEVEL, 'warn');
  t.is(valueOf(readSettings(UpstreamSettings, { LOG_LEVEL: '' })).LOG_LEVEL, undefined);
  t.is(valueOf(readSettings(UpstreamSettings, {})).LOG_LEVEL, undefined);
  const bad = readSettings(UpstreamSettings, { LOG_LEVEL: 'loud' });
  t.false(bad.ok);
  t.regex(
    bad.ok ? '' : bad.error.message,
    /LOG_LEVEL: expected debug, info, warn or error, got "loud"/,
  );
});
