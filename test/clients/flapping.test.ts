/**
 * A host whose probe answers while the requests that matter keep failing (json-rev cut
 * mid-body, its pushlog fine): its breaker may open and close, but no faster than its probe
 * interval, and later each time slower, so the requests it lets through stay few.
 */
import test from 'ava';
import { Readable } from 'node:stream';
import { HostHealth, type HostTransition } from '../../src/clients/health.js';
import { HgClient } from '../../src/clients/hgmo.js';
import { HostLimits } from '../../src/clients/hostLimits.js';
import { Http } from '../../src/clients/http.js';
import { configureLog } from '../../src/log.js';
import { startFixtures } from '../support/standIns/fixtureServer.js';
import { sleep } from '../support/wait.js';
import { AUTOLAND } from './upstreams.js';

configureLog({ level: 'silent' });

const NODE = 'f7ea35ab0117950edc47de7130e9d8941d0574d4';
const PROBE_MS = 200;
const RUN_MS = 3_000;

/** A json-rev that starts well and breaks off: the connection is cut mid-body. */
const cutMidBody = () =>
  Readable.from(
    (async function* () {
      yield `{"node": "${NODE}", "desc": "Bug 1 - a change", "diff": [{"t": "+", "l": "`;
      throw new Error('cut');
    })(),
  );

test.serial(
  'json-rev cut mid-body: the breaker flaps no faster than its probe interval, and few requests get through',
  async (t) => {
    const fx = await startFixtures();
    t.teardown(() => fx.close());
    const health = new HostHealth({ failures: 3, probeMs: PROBE_MS });
    t.teardown(() => health.close());
    const transitions: HostTransition[] = [];
    health.transitions.subscribe((transition) => transitions.push(transition));
    const hg = new HgClient(new Http(new HostLimits(8, health), { backoffMs: 1, attempts: 2 }), [
      fx.hg.host,
    ]);
    fx.fail({ match: /json-rev/, body: cutMidBody });
    const repo = fx.repo(AUTOLAND);
    const host = fx.hg.host;
    const end = Date.now() + RUN_MS;
    // As the worker's jobs would: read a push, then its changeset; a failure is tried again
    // a little later (a delay queue), and while hg is down nothing is asked (paused).
    const job = async (n: number) => {
      while (Date.now() < end) {
        try {
          await hg.pushlogPage(repo, 182539 + n, 182540 + n);
          await hg.changeset(repo, NODE);
        } catch {
          if (health.isUp(host)) await sleep(20);
          else await Promise.race([health.waitUntilUp(host), sleep(end - Date.now())]);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, n) => job(n)));
    const perSecond = Math.round(fx.hg.requests.length / (RUN_MS / 1000));
    const downs = transitions.filter((x) => !x.up).length;
    const downFor = transitions.filter((x) => x.up).map((x) => x.downForMs!);
    t.log(`${downs} times down in ${RUN_MS} ms; ${perSecond} requests/s; down for ${downFor}`);
    t.true(downs >= 1, 'the failures take it down');
    // Waits of at least 200, 400, 800, 1600 ms: four outages fill the three seconds.
    t.true(downs <= 4, `${downs} times down`);
    t.true(
      downFor.every((ms) => ms >= PROBE_MS - 5),
      `down for ${downFor.join(', ')} ms`,
    );
    // Measured: some 90 requests/s without the backoff, some 35 with it.
    t.true(perSecond <= 50, `${perSecond} requests/s`);
  },
);
