import { Option, type Command } from 'commander';
import { PulseSettings } from '../../codecs/settings.js';
import { configureLog } from '../../log.js';
import { dropParked, listParked } from './parkedMessages.js';
import { requireTerminalUnlessYes } from '../shared/confirm.js';
import { EXIT, fail, logLevelFor, settingsOrExit } from '../shared/program.js';

/** The worker's options about the parked messages (queue/<user>/<name>.failed). */
export interface FailedQueueOptions {
  readonly debug?: boolean;
  readonly replayFailed?: boolean;
  readonly listFailed?: boolean;
  readonly dropFailed?: boolean;
  readonly yes?: boolean;
}

/**
 * Adds what an operator does with the parked messages. `--list-failed` and `--drop-failed`
 * are errands, not a worker run: each excludes the other, `--replay-failed` and `--no-send`
 * (commander's usage error, exit 2, names both).
 */
export const withFailedQueueOptions = (command: Command): Command =>
  command
    .option(
      '--replay-failed',
      'run the parked messages (queue/<user>/<name>.failed) again; remove those that succeed, then exit',
    )
    .addOption(
      new Option(
        '--list-failed',
        'print the parked messages (when parked, push, repository, reason, error), remove none, and exit',
      ).conflicts(['send', 'replayFailed', 'dropFailed']),
    )
    .addOption(
      new Option(
        '--drop-failed',
        'print the parked messages, ask, remove them (not those parked since), and exit',
      ).conflicts(['send', 'replayFailed']),
    )
    .option('-y, --yes', 'with --drop-failed: do not ask for confirmation');

/**
 * Runs --list-failed or --drop-failed and exits; returns at once for a worker run. They read
 * the Pulse settings only: no telemetry or store setting, no store, no metrics, no worker.
 * Off a terminal, --drop-failed wants --yes, as backfill-pushlog does.
 */
export const runFailedQueueErrand = async (
  name: string,
  options: FailedQueueOptions,
): Promise<void> => {
  if (options.yes && !options.dropFailed) {
    fail(name, '--yes goes with --drop-failed only.', EXIT.usage);
  }
  if (!options.listFailed && !options.dropFailed) return;
  const settings = settingsOrExit(name, PulseSettings);
  if (options.dropFailed) requireTerminalUnlessYes(name, options.yes === true);
  // Pulse settings only: LOG_LEVEL is not read, so the summary lines (info) always show.
  configureLog({
    level: logLevelFor(options.debug, undefined, 'info'),
    secrets: [settings.PULSE_PASSWORD],
  });
  await (options.dropFailed
    ? dropParked(name, settings, !options.yes)
    : listParked(name, settings));
};
