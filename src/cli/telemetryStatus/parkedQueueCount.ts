import { ParkedQueue } from '../../../streams/pulse/parked/parkedQueue.js';
import { pulseSettingsToCheck } from '../../../streams/pulse/connection/connectOptions.js';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import { PulseSettings } from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import { secretMasker } from '../../redact.js';
import { settingsOrExit } from '../shared/program.js';

/**
 * The parked messages an operator owns now: the failed queue's depth, read from the broker as
 * the worker's metric reads it; `count` is null, and `why` says why, when it could not be.
 */
export type ParkedQueueCount =
  | { readonly queue: string; readonly count: number }
  | { readonly queue: string | null; readonly count: null; readonly why: string };

/** The settings that name the worker's queue; none of them set means "not asked". */
const NAMING = ['PULSE_USERNAME', 'PULSE_PASSWORD', 'PULSE_QUEUE_NAME'] as const;

export const NO_PULSE_SETTINGS = `unknown: ${NAMING.join(', ')} are not set (the parked queue is read with the worker's Pulse settings)`;

/**
 * The worker's Pulse settings when the environment has any of them (exit 2 if they are
 * incomplete or wrong, as for the worker), else undefined: the parked count is then unknown.
 */
export const pulseSettingsIfSet = (
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): PulseSettings | undefined =>
  NAMING.some((variable) => (env[variable] ?? '') !== '')
    ? settingsOrExit(name, PulseSettings)
    : undefined;

/** One passive declare on a connection of its own; a failure is the answer, not the command's. */
export const countParkedMessages = async (
  settings: PulseSettings | undefined,
): Promise<ParkedQueueCount> => {
  if (settings === undefined) return { queue: null, count: null, why: NO_PULSE_SETTINGS };
  const queue = pulseNames(settings.PULSE_USERNAME, settings.PULSE_QUEUE_NAME).failedQueue;
  try {
    const parked = await ParkedQueue.open(settings);
    await parked.close();
    return { queue, count: parked.count };
  } catch (error) {
    const reason = secretMasker([settings.PULSE_PASSWORD])(describeError(error));
    const broker = `${settings.PULSE_HOST}:${settings.PULSE_PORT}`;
    const check = pulseSettingsToCheck(error).join(', ');
    return { queue, count: null, why: `cannot read it at ${broker}: ${reason}; check ${check}` };
  }
};
