import test from 'ava';
import { BugzillaClient } from '../../src/clients/bugzilla.js';
import { HgClient } from '../../src/clients/hgmo.js';
import { HostLimits } from '../../src/clients/hostLimits.js';
import { Http, type HttpOptions } from '../../src/clients/http.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';

export const AUTOLAND = 'integration/autoland';

const started = new Set<Fixtures>();
// A test stops at its first failed assertion, before its own fx.close(); servers left
// listening would keep its file's process alive until ava's timeout. So every file that
// uses upstreams closes, at its end, whatever is still open (closing twice is harmless).
test.after.always(async () => {
  await Promise.all([...started].map((fx) => fx.close()));
});

/** Fixture servers and clients that talk to them, with quick retries. */
export const upstreams = async (options: HttpOptions = {}) => {
  const fx: Fixtures = await startFixtures();
  started.add(fx);
  const http = new Http(new HostLimits(8), { backoffMs: 1, ...options });
  return {
    fx,
    hg: new HgClient(http, [fx.hg.host]),
    bugzilla: new BugzillaClient(http, fx.env.BMO_API_URL!),
    http,
  };
};

/** Waits until `condition` holds, for at most `ms`. */
export const eventually = async (condition: () => boolean, ms = 2000): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
};

export const MIB = 1024 * 1024;
