import test from 'ava';
import { HostLimits } from '../../src/clients/hostLimits.js';
import { createTelemetryClient } from '../../src/clients/index.js';
import type { Ping } from '../../src/codecs/ping.js';
import { AnswerTooLarge, PipelineError } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { startFixtures } from '../support/standIns/fixtureServer.js';
import { jsonWithHugeString } from '../support/data/hugeJson.js';

configureLog({ level: 'silent' });

const ping = {
  changesetID: 'f7ea35ab0117950edc47de7130e9d8941d0574d4',
  reviewSystemUsed: 'phabricator',
  repository: 'https://hg.mozilla.org/integration/autoland',
} as Ping;

const client = async (maxAnswerMb?: number) => {
  const fx = await startFixtures();
  const telemetry = createTelemetryClient(
    new HostLimits(2),
    {
      TMO_BASE_URL: fx.env.TMO_BASE_URL!,
      TMO_PING_NAMESPACE: 'eng-workflow',
      TMO_PING_DOCTYPE: 'hgpush',
      TMO_PING_DOCVERSION: '1',
      MAX_ANSWER_MB: maxAnswerMb,
    },
    { backoffMs: 1 },
  );
  return { fx, telemetry };
};

test('a ping accepted is sent once, as JSON', async (t) => {
  const { fx, telemetry } = await client();
  await telemetry.submit(ping);
  t.deepEqual([...fx.tmo.received.values()], [ping]);
  await fx.close();
});

test('a refused ping is permanent and quotes the answer', async (t) => {
  const { fx, telemetry } = await client();
  fx.fail({ match: /submit/, status: 400 });
  const error = await t.throwsAsync(telemetry.submit(ping), { instanceOf: PipelineError });
  t.is(error?.kind, 'permanent');
  t.regex(error!.message, /answered 400: \{"error":true,"message":"injected failure"\}\)$/);
  await fx.close();
});

test("telemetry's answer is capped at MAX_ANSWER_MB too", async (t) => {
  const { fx, telemetry } = await client(1);
  fx.fail({ match: /submit/, body: () => jsonWithHugeString(Infinity) });
  const error = await t.throwsAsync(telemetry.submit(ping), { instanceOf: AnswerTooLarge });
  t.regex(error!.message, /^PUT .* more than the 1 MB cap \(MAX_ANSWER_MB\)/);
  await fx.close();
});
