import { createProgram, intArgument } from '../shared/program.js';
import { GAP_FILL_HELP, PULSE_HELP, TELEMETRY_HELP } from '../shared/settingsHelp.js';
import { withFailedQueueOptions, type FailedQueueOptions } from './failedQueue.js';

export const NAME = 'process-queue-messages';

/** The longest a Node timer waits (2^31 - 1 ms, about 24.8 days); beyond, it fires at once. */
const MAX_TIMER_SECONDS = 2_147_483;

export interface Options {
  debug: boolean;
  send: boolean;
  timeout?: number;
  prefetch: number;
  replayFailed: boolean;
}

/** Reads the command line; `--help` and a usage error exit here (0 and 2). */
export const parseArguments = (): { options: Options; all: FailedQueueOptions } => {
  const command = createProgram(
    NAME,
    'Consume hgpush messages from Pulse and send a ping for every changeset of every push. ' +
      'Runs until SIGTERM or SIGINT, then finishes the messages in flight and exits 0.',
    `${TELEMETRY_HELP}${PULSE_HELP}${GAP_FILL_HELP}`,
  )
    .option('--debug', 'log every request and decision to stderr')
    .option(
      '--no-send',
      'print pings on stdout and ack nothing: every message goes back to the queue',
    )
    .option(
      '--timeout <SECONDS>',
      'exit 0 once no message arrived for this long since consuming began and none is in flight',
      intArgument('--timeout', 1, MAX_TIMER_SECONDS),
    )
    .option(
      '--prefetch <N>',
      'messages taken from the broker ahead of processing',
      intArgument('--prefetch', 1, 10_000),
      32,
    );
  const program = withFailedQueueOptions(command)
    .addHelpText(
      'after',
      '\nExit status: 0 stopped cleanly, or --list-failed or --drop-failed done; 1 could not connect,' +
        '\nset up or read a queue, open the store or serve metrics, --replay-failed parked a message' +
        '\nagain, or --drop-failed not confirmed; 2 usage or settings error.',
    )
    .parse();
  return { options: program.opts<Options>(), all: program.opts<FailedQueueOptions>() };
};
