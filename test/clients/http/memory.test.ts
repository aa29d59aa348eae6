/**
 * What the clients hold while hundreds of megabytes go past. Serial and in a file of their
 * own, so that no other test's allocations count; the fixture server runs in this process
 * too, and what it generates counts against the client.
 */
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AnswerTooLarge } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';
import { jsonRevStream } from '../../support/data/hgJsonRev.js';
import { jsonWithHugeString, syntheticPatchLines } from '../../support/data/hugeJson.js';
import { AUTOLAND, eventually, MIB, upstreams } from '../upstreams.js';

configureLog({ level: 'silent' });

const NODE = 'f7ea35ab0117950edc47de7130e9d8941d0574d4';
const CHANGESET = {
  node: NODE,
  date: [1695045102, -7200],
  desc: 'Bug 1 - Reformat the whole tree. r=bench',
  user: 'Jana Lindqvist <jlindqvist@mozilla.com>',
  parents: ['97f1d3f7d876573547a1b479263d180e317b4ae8'],
  phase: 'public',
  pushid: 1,
  pushdate: [1695046924, 0],
  pushuser: 'jlindqvist@mozilla.com',
  landingsystem: 'lando',
};

// What is held, not what awaits collection: the generators serving the answer make garbage
// at the rate the client reads, so each sample follows a full collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const held = () => {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

/** The most memory (heap and buffers) held above where it was at the start, while `work` runs. */
const peakGrowth = async <T>(work: () => Promise<T>) => {
  const start = held();
  let peak = start;
  // Each sample is a full collection: ten a second find anything held for longer than a
  // moment (a whole 50 MB answer would be, for as long as it took to arrive).
  const sampler = setInterval(() => (peak = Math.max(peak, held())), 100);
  try {
    const result = await work().catch((error: unknown) => error);
    return { result, growth: peak - start };
  } finally {
    clearInterval(sampler);
  }
};

test.serial('a json-rev with a 50 MB diff is read holding a few MB at most', async (t) => {
  const { fx, hg } = await upstreams({ maxAnswerBytes: MIB });
  let bytes = 0;
  fx.fail({
    match: /json-rev/,
    body: () =>
      jsonRevStream(CHANGESET, () => syntheticPatchLines(30e6)).on(
        'data',
        (chunk: Buffer) => (bytes += chunk.length),
      ),
  });
  const { result, growth } = await peakGrowth(() => hg.changeset(fx.repo(AUTOLAND), NODE));
  t.like(result, { node: NODE, landingsystem: 'lando', pushdate: [1695046924, 0] });
  t.true(bytes > 50e6, `${bytes} bytes served`);
  // Holding the diff would take at least its 50 MB; the picker keeps a chunk at a time.
  t.true(growth < 16 * MIB, `grew by ${(growth / MIB).toFixed(1)} MB`);
  t.log(`${(bytes / 1e6).toFixed(0)} MB served, memory grew by ${(growth / MIB).toFixed(1)} MB`);
  await fx.close();
});

test.serial(
  'a 300 MB json-pushes answer fails at once, holding no more than the cap',
  async (t) => {
    const { fx, hg } = await upstreams();
    let bytes = 0;
    fx.fail({
      match: /json-pushes/,
      body: () => jsonWithHugeString(300e6).on('data', (chunk: Buffer) => (bytes += chunk.length)),
    });
    const { result, growth } = await peakGrowth(() => hg.pushlogPage(fx.repo(AUTOLAND), 0, 1));
    t.true(result instanceof AnswerTooLarge && result.kind === 'permanent');
    t.regex((result as Error).message, /more than the 32 MB cap \(MAX_ANSWER_MB\)/);
    // The default cap, 32 MB, is what may be held; the server stopped soon after it.
    t.true(growth < 64 * MIB, `grew by ${(growth / MIB).toFixed(1)} MB`);
    t.true(await eventually(() => fx.hg.inFlight === 0, 10_000));
    // "At once": the request stopped reading long before the 300 MB were served (counted in
    // bytes, not in seconds, which a loaded machine stretches).
    t.true(bytes < 100e6, `${bytes} bytes served`);
    t.log(`${(bytes / 1e6).toFixed(0)} MB served, memory grew by ${(growth / MIB).toFixed(1)} MB`);
    await fx.close();
  },
);
