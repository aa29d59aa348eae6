/**
 * Every decoder at an upstream boundary, through the real client over loopback HTTP: random
 * and mutated answers, sent in chunks cut at random points, never throw anything but a
 * transient UndecodableAnswer out of the client, and that error names the field at fault.
 */
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BugzillaClient } from '../../src/clients/bugzilla.js';
import { CHANGESET_FIELDS } from '../../src/clients/json/jsonRev.js';
import { AttachmentsAnswer, BugzillaError, HistoryAnswer } from '../../src/codecs/bugzilla.js';
import { Changeset } from '../../src/codecs/changeset.js';
import { decodeJsonWith } from '../../src/codecs/decodeJson.js';
import { PushlogPage } from '../../src/codecs/pushlog.js';
import { decodeWith } from '../../src/codecs/report.js';
import { UndecodableAnswer } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { FIXTURES_DIR } from '../support/data/fixtureData.js';
import { AUTOLAND, upstreams } from './upstreams.js';

configureLog({ level: 'silent' });

/** The body cut at `cuts`, each piece written on its own turn of the event loop. */
const chunked = (text: string, cuts: number[]) => () => {
  const bytes = Buffer.from(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces = [0, ...at, bytes.length]
    .slice(1)
    .map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end));
  return Readable.from(
    (async function* () {
      for (const piece of pieces) {
        yield piece;
        await new Promise(setImmediate);
      }
    })(),
  );
};

/**
 * What a client call ended in: its value, or `request: decoder's message` of the transient
 * UndecodableAnswer it failed with (another upstream may mend the body; the client, made
 * with one attempt, does not retry it here).
 */
const outcome = async <T>(call: Promise<T>) => {
  try {
    return { value: await call };
  } catch (error) {
    if (error instanceof UndecodableAnswer && error.kind === 'transient') {
      return { error: `${error.request}: ${(error.cause as Error).message}` };
    }
    throw error;
  }
};

const mutations = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('delete', 'insert', 'replace', 'truncate'),
    char: fc.constantFrom(...'{}[]",:\\0123456789-.etfn \u00e9'),
  }),
  { maxLength: 3 },
);
/** The text changed at some places, as it goes over the wire: a surrogate pair cut in two
 * has no UTF-8, so what was cut is what the server sends (U+FFFD) and what the test expects. */
const mutate = (text: string, changes: { at: number; kind: string; char: string }[]) =>
  Buffer.from(
    changes.reduce((s, { at, kind, char }) => {
      const i = at % (s.length + 1);
      if (kind === 'delete') return s.slice(0, i) + s.slice(i + 1);
      if (kind === 'insert') return s.slice(0, i) + char + s.slice(i);
      if (kind === 'replace') return s.slice(0, i) + char + s.slice(i + 1);
      return s.slice(0, i);
    }, text),
  ).toString('utf8');

/** Mostly what the codec wants, sometimes anything at all. */
const mostly = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 5, arbitrary: good }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
const hex40 = fc.stringMatching(/^[0-9a-f]{40}$/);
const text = fc.string({ unit: 'binary', maxLength: 40 });

/** An object whose keys come in a random order. */
const shuffled = <T extends Record<string, unknown>>(record: fc.Arbitrary<T>) =>
  record.chain((object) =>
    fc
      .shuffledSubarray(Object.keys(object), { minLength: Object.keys(object).length })
      .map((keys) => Object.fromEntries(keys.map((key) => [key, object[key]]))),
  );

const jsonRevs = shuffled(
  fc.record(
    {
      node: mostly(hex40),
      date: fc.tuple(fc.integer(), fc.integer()),
      desc: mostly(text),
      user: mostly(text),
      parents: mostly(fc.array(hex40, { maxLength: 2 })),
      files: fc.array(
        fc.record({ file: text, status: fc.constantFrom('added', 'modified', 'removed') }),
        { maxLength: 3 },
      ),
      diff: fc.array(
        fc.record({
          blockno: fc.nat(),
          lines: fc.array(
            fc.record({ t: fc.constantFrom('', '+', '-', '@'), n: fc.nat(), l: text }),
            { maxLength: 5 },
          ),
        }),
        { maxLength: 3 },
      ),
      pushid: fc.nat(),
      pushdate: mostly(fc.tuple(fc.nat(), fc.constant(0))),
      landingsystem: mostly(fc.oneof(text, fc.constant(null))),
      other: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['node', 'desc', 'user', 'parents', 'pushdate', 'files', 'diff'] },
  ),
);

const decodeChangeset = decodeWith(Changeset, 'json-rev answer');

test('property: any json-rev answer, whole or mutated, decodes or fails naming the field', async (t) => {
  const { fx, hg } = await upstreams({ attempts: 1 });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      jsonRevs,
      mutations,
      fc.array(fc.nat(), { maxLength: 6 }),
      async (answer, changes, cuts) => {
        const node = (run += 1).toString(16).padStart(40, '0');
        const body = mutate(JSON.stringify(answer), changes);
        fx.fail({ match: new RegExp(`json-rev/${node}$`), body: chunked(body, cuts), times: 1 });
        const got = await outcome(hg.changeset(fx.repo(AUTOLAND), node));
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          // Not JSON: a failure naming where or a field, or fields read around a fault in
          // what the picker only skips.
          if ('error' in got) t.regex(got.error ?? '', /: invalid json-rev answer: [^ ]+: /);
          return;
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          t.regex(
            got.error ?? '',
            /: invalid json-rev answer: \(root\): not JSON: not a JSON object/,
          );
          return;
        }
        const fields = Object.fromEntries(
          Object.entries(parsed).filter(([key]) => CHANGESET_FIELDS.has(key)),
        );
        const expected = decodeChangeset(fields);
        const url = `${fx.repo(AUTOLAND)}/json-rev/${node}`;
        t.deepEqual(
          got,
          expected.ok
            ? { value: expected.value }
            : { error: `GET ${url}: ${expected.error.message}` },
        );
      },
    ),
  );
  await fx.close();
});

const pushlogPages = fc.record({
  lastpushid: mostly(fc.nat()),
  pushes: mostly(
    fc.dictionary(
      fc.nat().map(String),
      mostly(
        fc.record({
          changesets: mostly(fc.array(hex40, { maxLength: 3 })),
          date: mostly(fc.nat()),
          user: mostly(text),
        }),
      ),
      { maxKeys: 4 },
    ),
  ),
});

test('property: any json-pushes answer, whole or mutated, decodes or fails naming the field', async (t) => {
  const { fx, hg } = await upstreams({ attempts: 1 });
  const decode = decodeJsonWith(PushlogPage, 'json-pushes answer');
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      pushlogPages,
      mutations,
      fc.array(fc.nat(), { maxLength: 6 }),
      async (page, changes, cuts) => {
        run += 1;
        const body = mutate(JSON.stringify(page), changes);
        fx.fail({ match: new RegExp(`startID=${run}&`), body: chunked(body, cuts), times: 1 });
        const got = await outcome(hg.pushlogPage(fx.repo(AUTOLAND), run, run + 1));
        const expected = decode(body);
        const url = `${fx.repo(AUTOLAND)}/json-pushes?version=2&startID=${run}&endID=${run + 1}`;
        t.deepEqual(
          got,
          expected.ok
            ? { value: expected.value }
            : { error: `GET ${url}: ${expected.error.message}` },
        );
        // A field path may hold any character a key can (spaces included).
        if (!expected.ok) t.regex(got.error ?? '', /invalid json-pushes answer: .+: /);
      },
    ),
  );
  await fx.close();
});

const RECORDED_BUG = 1851234;
const recordedBug = (endpoint: string) =>
  JSON.parse(
    readFileSync(
      join(FIXTURES_DIR, 'bmo', 'bug', String(RECORDED_BUG), `${endpoint}.json`),
      'utf8',
    ),
  );
// Answers name their bug by this placeholder, replaced with the bug of the run.
const SELF = 'SELF';

const attachmentsAnswers = fc.record({
  bugs: mostly(
    fc.dictionary(
      fc.constantFrom(SELF, '1'),
      mostly(
        fc.array(
          fc.record({
            content_type: mostly(fc.constantFrom('text/x-phabricator-request', 'text/plain')),
            is_patch: mostly(fc.constantFrom(0, 1)),
            is_obsolete: mostly(fc.constantFrom(0, 1)),
          }),
          { maxLength: 3 },
        ),
      ),
    ),
  ),
});
const historyAnswers = fc.record({
  bugs: mostly(
    fc.array(
      fc.record({
        id: mostly(fc.nat()),
        history: mostly(
          fc.array(
            fc.record({
              when: mostly(text),
              who: mostly(text),
              changes: mostly(
                fc.array(fc.record({ field_name: text, added: mostly(text), removed: text }), {
                  maxLength: 2,
                }),
              ),
            }),
            { maxLength: 2 },
          ),
        ),
      }),
      { maxLength: 2 },
    ),
  ),
});
const errorBodies = fc.record(
  { error: mostly(fc.constant(true)), code: fc.nat(), message: text },
  { requiredKeys: ['error'] },
);

test('property: any Bugzilla answer, whole or mutated, decodes, means no bug, or fails naming the field', async (t) => {
  const { fx, http } = await upstreams({ attempts: 1 });
  const decoders = {
    attachment: decodeJsonWith(AttachmentsAnswer, 'Bugzilla attachments answer'),
    history: decodeJsonWith(HistoryAnswer, 'Bugzilla history answer'),
  };
  const isError = decodeJsonWith(BugzillaError, 'Bugzilla error');
  const recorded = {
    attachments: recordedBug('attachment').bugs[String(RECORDED_BUG)],
    history: recordedBug('history').bugs.flatMap((b: { history: unknown[] }) => b.history),
  };
  const paths = { attachment: 'attachment?exclude_fields=data', history: 'history' };
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.record({ endpoint: fc.constant('attachment' as const), answer: attachmentsAnswers }),
        fc.record({ endpoint: fc.constant('history' as const), answer: historyAnswers }),
        fc.record({
          endpoint: fc.constantFrom('attachment' as const, 'history' as const),
          answer: errorBodies,
        }),
      ),
      mutations,
      fc.array(fc.nat(), { maxLength: 6 }),
      async ({ endpoint, answer }, changes, cuts) => {
        // A bug of its own for each run: Promise.all gives up on the first failure, and the
        // other request, still on its way, must not meet the next run's answer.
        const bug = 2_000_000 + (run += 1);
        const body = mutate(JSON.stringify(answer).replaceAll(`"${SELF}"`, `"${bug}"`), changes);
        const other = endpoint === 'attachment' ? 'history' : 'attachment';
        const otherBody =
          other === 'attachment'
            ? { bugs: { [bug]: recorded.attachments } }
            : { bugs: [{ id: bug, history: recorded.history }] };
        fx.fail({
          match: new RegExp(`/bug/${bug}/${endpoint}`),
          body: chunked(body, cuts),
          times: 1,
        });
        fx.fail({
          match: new RegExp(`/bug/${bug}/${other}`),
          body: chunked(JSON.stringify(otherBody), []),
          times: 1,
        });
        const got = await outcome(new BugzillaClient(http, fx.env.BMO_API_URL!).bug(bug));
        const decoded = decoders[endpoint](body);
        let expected;
        if (decoded.ok) {
          expected = {
            value:
              endpoint === 'attachment'
                ? {
                    ...recorded,
                    attachments: (decoded.value as AttachmentsAnswer).bugs[String(bug)] ?? [],
                  }
                : {
                    ...recorded,
                    history: (decoded.value as HistoryAnswer).bugs.flatMap((b) => b.history),
                  },
          };
        } else if (isError(body).ok) {
          expected = { value: null };
        } else {
          const url = `${fx.env.BMO_API_URL}/bug/${bug}/${paths[endpoint]}`;
          expected = { error: `GET ${url}: ${decoded.error.message}` };
        }
        t.deepEqual(got, expected);
      },
    ),
  );
  await fx.close();
});
