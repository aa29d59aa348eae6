import { constants } from 'node:os';
import { tell } from './tell.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof SIGNALS)[number];

/** The exit status of a process that `signal` ended, as a shell reports it: 130, 143. */
export const signalExitCode = (signal: StopSignal): number => 128 + constants.signals[signal];

const NOTICE: Record<StopSignal, string> = {
  SIGINT: 'Interrupted: finishing the pushes in flight (Ctrl-C again to quit now).',
  SIGTERM: 'Interrupted by SIGTERM: finishing the pushes in flight (SIGTERM again to quit now).',
};

/**
 * Makes Ctrl-C and SIGTERM (what containers and one-off dynos are stopped with) end the run
 * early but cleanly: at the first of them, `stoppable` (the progress bar, the source of work)
 * stop, so that what is in flight finishes and the resume point is exact. A second signal
 * quits at once, for when finishing takes too long. Returns what says which signal came.
 */
export const windDownOnSignals = (
  stoppable: readonly { stop(): void }[],
): (() => StopSignal | undefined) => {
  let received: StopSignal | undefined;
  const onSignal = (signal: StopSignal): void => {
    if (received !== undefined) process.exit(signalExitCode(signal));
    received = signal;
    for (const item of stoppable) item.stop();
    // On a terminal the bar's line, or the ^C echoed after it, is left behind.
    tell('warn', 'interrupted', { signal }, `\n${NOTICE[signal]}`);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return () => received;
};
