import test from 'ava';
import { Readable } from 'node:stream';
import { AnswerTooLarge, PipelineError, UndecodableAnswer } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { jsonWithHugeString } from '../support/data/hugeJson.js';
import { MIB, upstreams } from './upstreams.js';

configureLog({ level: 'silent' });

test('a bug Bugzilla shows: its live attachments and its history', async (t) => {
  const { fx, bugzilla } = await upstreams();
  const record = await bugzilla.bug(1849011);
  t.true(record !== null && record.attachments.length > 0 && record.history.length > 0);
  await fx.close();
});

test('401, 404 and an error body with 200 all mean no bug we may read', async (t) => {
  const { fx, bugzilla } = await upstreams();
  t.is(await bugzilla.bug(1852200), null);
  t.is(await bugzilla.bug(1853999), null);
  t.is(await bugzilla.bug(1852761), null);
  await fx.close();
});

test("a 404 or 401 without Bugzilla's error body is not no bug: a wrong BMO_API_URL, transient", async (t) => {
  const { fx, bugzilla } = await upstreams({ attempts: 1 });
  for (const status of [404, 401]) {
    fx.fail({
      match: /history/,
      status,
      body: () => Readable.from(['<html>Not Found</html>']),
      times: 1,
    });
    const error = await t.throwsAsync(bugzilla.bug(1849011), { instanceOf: PipelineError });
    t.is(error?.kind, 'transient', `${status}`);
    t.regex(
      error?.message ?? '',
      new RegExp(`answered ${status} without Bugzilla's error body: check BMO_API_URL`),
    );
  }
  await fx.close();
});

test('another refusal is permanent and quotes the start of the answer', async (t) => {
  const { fx, bugzilla } = await upstreams();
  fx.fail({ match: /history/, status: 400 });
  const error = await t.throwsAsync(bugzilla.bug(1849011), { instanceOf: PipelineError });
  t.is(error?.kind, 'permanent');
  t.is(
    error?.message,
    `GET ${fx.env.BMO_API_URL}/bug/1849011/history answered 400: {"error":true,"message":"injected failure"}`,
  );
  await fx.close();
});

test('an answer of the wrong shape is transient: retried, then failed naming the field', async (t) => {
  const { fx, bugzilla } = await upstreams({ attempts: 2 });
  fx.fail({ match: /history/, body: () => Readable.from(['{"bugs": [{"id": 1, "history": 3}]}']) });
  const error = await t.throwsAsync(bugzilla.bug(1849011), { instanceOf: UndecodableAnswer });
  t.is(error?.kind, 'transient');
  t.is(
    error?.message,
    `GET ${fx.env.BMO_API_URL}/bug/1849011/history answered 200 with a body that is not the ` +
      'expected Bugzilla history answer (bugs.0.history: expected Array<HistoryEntry>, got 3); ' +
      'retried as a transient failure',
  );
  t.is(fx.bmo.requests.filter((r) => r.endsWith('/history')).length, 2, 'asked twice');
  await fx.close();
});

test('an HTML page with 200 is transient, and its next good answer is used', async (t) => {
  const { fx, bugzilla } = await upstreams();
  const page = '<!DOCTYPE html><html><body>Bugzilla is down for maintenance</body></html>';
  fx.fail({ match: /history/, body: () => Readable.from([page]), times: 1 });
  const record = await bugzilla.bug(1849011);
  t.true(record !== null && record.history.length > 0);
  t.is(fx.bmo.requests.filter((r) => r.endsWith('/history')).length, 2);
  await fx.close();
});

test('an answer over MAX_ANSWER_MB is permanent, and read no further', async (t) => {
  const { fx, bugzilla } = await upstreams({ maxAnswerBytes: MIB });
  fx.fail({ match: /attachment/, body: () => jsonWithHugeString(Infinity) });
  const error = await t.throwsAsync(bugzilla.bug(1849011), { instanceOf: AnswerTooLarge });
  t.regex(
    error!.message,
    /attachment\?exclude_fields=data: more than the 1 MB cap \(MAX_ANSWER_MB\)/,
  );
  await fx.close();
});
