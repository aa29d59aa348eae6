import {
  summarizeParked,
  type ParkedMessage,
} from '../../../streams/pulse/parked/parkedMessage.js';
import { ParkedQueue } from '../../../streams/pulse/parked/parkedQueue.js';
import { pulseSettingsToCheck } from '../../../streams/pulse/connection/connectOptions.js';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import type { PulseSettings } from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import { secretMasker } from '../../redact.js';
import { confirm } from '../shared/confirm.js';
import { parkedLines, parkedTable } from './parkedTable.js';
import { EXIT, fail } from '../shared/program.js';
import { tell } from '../shared/tell.js';

const plural = (n: number) => `${n} parked message${n === 1 ? '' : 's'}`;

/**
 * The listing on stdout: a table on a terminal, else one tab-separated line a message. Waits
 * until it is written: the errand exits right after.
 */
const print = (messages: readonly ParkedMessage[]): Promise<void> => {
  const summaries = messages.map(summarizeParked);
  if (summaries.length === 0) return Promise.resolve();
  const tty = process.stdout.isTTY === true;
  const text = tty ? parkedTable(summaries, Date.now()) : parkedLines(summaries);
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
};

/**
 * Connects, counts and takes the parked messages (held, not removed), or exits 1 naming the
 * settings to check. The broker's reason is shown, the password masked should it appear.
 */
const takeOrExit = async (name: string, settings: PulseSettings) => {
  const failedQueue = pulseNames(settings.PULSE_USERNAME, settings.PULSE_QUEUE_NAME).failedQueue;
  let queue: ParkedQueue | undefined;
  try {
    queue = await ParkedQueue.open(settings);
    return { queue, messages: await queue.take() };
  } catch (error) {
    await queue?.close();
    const reason = secretMasker([settings.PULSE_PASSWORD])(describeError(error));
    const broker = `${settings.PULSE_HOST}:${settings.PULSE_PORT}`;
    const check = pulseSettingsToCheck(error).join(', ');
    return fail(
      name,
      `cannot read ${failedQueue} at ${broker}: ${reason}; check ${check}`,
      EXIT.failed,
    );
  }
};

/** --list-failed: prints them, gives them all back, in their order, and exits 0. */
export const listParked = async (name: string, settings: PulseSettings): Promise<never> => {
  const { queue, messages } = await takeOrExit(name, settings);
  await queue.close();
  await print(messages);
  const count = messages.length;
  const text =
    count === 0 ? `no parked message in ${queue.name}` : `${plural(count)} in ${queue.name}`;
  tell('info', 'parked messages', { queue: queue.name, count }, `${text}; none removed.`);
  process.exit(EXIT.ok);
};

/**
 * --drop-failed: prints them, asks as backfill-pushlog does (unless --yes), and removes them.
 * The messages are held from the count to the answer, so a message parked meanwhile is kept
 * (and none can be removed twice). Exits 0 once done, 1 when not confirmed (nothing removed)
 * or when the broker did not take the removal.
 */
export const dropParked = async (
  name: string,
  settings: PulseSettings,
  ask: boolean,
): Promise<never> => {
  const { queue, messages } = await takeOrExit(name, settings);
  const fields = { queue: queue.name, count: messages.length };
  if (messages.length === 0) {
    await queue.close();
    tell('info', 'nothing to drop', fields, `no parked message in ${queue.name}; nothing to do.`);
    process.exit(EXIT.ok);
  }
  await print(messages);
  const what = `${plural(messages.length)} in ${queue.name}`;
  tell('info', 'plan', fields, `${what} will be dropped; any parked from now on are kept.`);
  if (ask && !(await confirm('Drop them?'))) {
    await queue.close();
    tell('error', 'not confirmed', {}, `${name}: not confirmed; nothing dropped.`);
    process.exit(EXIT.failed);
  }
  const dropped = await queue.drop().catch(async (error: unknown) => {
    await queue.close();
    const why = `cannot drop the parked messages: ${describeError(error)}`;
    return fail(name, `${why}; --list-failed shows what is left`, EXIT.failed);
  });
  await queue.close();
  tell('info', 'dropped', { queue: queue.name, dropped }, `dropped ${plural(dropped)}.`);
  process.exit(EXIT.ok);
};
