import { constants } from 'node:os';
import { tell } from '../tell.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof SIGNALS)[number];

/** The exit status of a process that `signal` ended, as a shell reports it: 130, 143. */
export const signalExitCode = (signal: StopSignal): number => 128 + constants.signals[signal];

/**
 * Ends the process by `signal` itself, not by an exit status of 130 or 143: a shell takes a
 * child that exits (whatever its status) for one that handled the Ctrl-C, and goes on with
 * the loop or script that ran it, so the next backfill would start. `$?` is 130 or 143.
 * As PID 1 of a container a signal's default action does nothing: then it exits with that
 * status instead.
 */
const dieOf = (signal: StopSignal): never => {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  return process.exit(signalExitCode(signal));
};

/** Resolves once what was written to `stream` has been handed to the system. */
const flushed = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise((resolve) => stream.write('', () => resolve()));

/**
 * Ends a run with `code`, or, once a stop signal came, by that signal (see dieOf), after the
 * summary and the resume command are out: dying by a signal drops what Node still holds for
 * a slow pipe (`2>&1 | tee`).
 */
export const endRun = async (signal: StopSignal | undefined, code: number): Promise<void> => {
  if (signal === undefined) {
    process.exitCode = code;
    return;
  }
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  dieOf(signal);
};

const NOTICE: Record<StopSignal, string> = {
  SIGINT: 'Interrupted: finishing the pushes in flight (Ctrl-C again to quit now).',
  SIGTERM: 'Interrupted by SIGTERM: finishing the pushes in flight (SIGTERM again to quit now).',
};

/**
 * Makes Ctrl-C and SIGTERM (what containers and one-off dynos are stopped with) end the run
 * early but cleanly: at the first of them, `stoppable` (the progress bar, the source of work)
 * stop, so that what is in flight finishes and the resume point is exact. A second signal
 * quits at once, for when finishing takes too long. Returns what says which signal came:
 * pass it to endRun at the end.
 */
export const windDownOnSignals = (
  stoppable: readonly { stop(): void }[],
): (() => StopSignal | undefined) => {
  let received: StopSignal | undefined;
  const onSignal = (signal: StopSignal): void => {
    if (received !== undefined) return dieOf(signal);
    received = signal;
    for (const item of stoppable) item.stop();
    // On a terminal the bar's line, or the ^C echoed after it, is left behind.
    tell('warn', 'interrupted', { signal }, `\n${NOTICE[signal]}`);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return () => received;
};
