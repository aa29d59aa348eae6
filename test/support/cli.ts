import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './root.js';

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolves once stderr holds `text`, looked for as each chunk arrives (no polling: a
   * worker's `--timeout` starts counting when it logs, so a test must not learn of it late);
   * fails, with the stderr, when the command exits first or after `timeoutMs`.
   */
  stderrIncludes(text: string, timeoutMs?: number): Promise<void>;
  readonly finished: Promise<Finished>;
}

/** The built command, as users run it; `npm test` bundles them first (its `pretest`). */
export const commandPath = (command: string): string => join(ROOT, `dist/bin/${command}.js`);

/**
 * Runs one of the built commands with only the environment given (plus PATH and HOME), so no
 * setting leaks in from the test runner, in a fresh working directory of its own (removed
 * when it exits): no `.env` of the checkout is read, and the default SQLite store is the
 * run's own. A test that needs one store across runs names it in DATABASE_URL.
 */
export const startCommand = (
  command:
    | 'dumpTelemetry'
    | 'backfillPushlog'
    | 'backfillGit'
    | 'processQueueMessages'
    | 'telemetryStatus',
  args: string[],
  env: Record<string, string> = {},
): Running => {
  const cwd = mkdtempSync(join(tmpdir(), 'cts-command-'));
  // COMMAND_WRAPPER=/usr/bin/time runs the command under time(1), for its peak RSS;
  // DOTENV=<text> puts a .env file with that text in its working directory.
  const { COMMAND_WRAPPER: wrapper, DOTENV: dotenv, ...commandEnv } = env;
  if (dotenv !== undefined) writeFileSync(join(cwd, '.env'), dotenv);
  const [file, ...fileArgs] =
    wrapper === undefined
      ? [process.execPath, commandPath(command), ...args]
      : [wrapper, '-f', '%M', process.execPath, commandPath(command), ...args];
  const child = spawn(file!, fileArgs, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...commandEnv },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let closed = false;
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => {
      closed = true;
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr });
    }),
  );
  const stderrIncludes = (text: string, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const stopLooking = () => {
        clearTimeout(timer);
        child.stderr!.off('data', look);
        child.off('close', look);
      };
      // Each chunk is already in `stderr`: its listener was added first.
      const look = () => {
        if (stderr.includes(text)) resolve();
        else if (closed) reject(new Error(`it exited before writing ${text}: ${stderr}`));
        else return;
        stopLooking();
      };
      const timer = setTimeout(() => {
        stopLooking();
        reject(new Error(`timed out waiting for ${text}; its stderr: ${stderr}`));
      }, timeoutMs);
      child.stderr!.on('data', look);
      child.on('close', look);
      look();
    });
  return { child, stdout: () => stdout, stderr: () => stderr, stderrIncludes, finished };
};

/**
 * Starts the worker and waits until it consumes, so that what is published from then on is
 * kept; fails, with its stderr, if it exits first. Generous by default: a loaded machine (the
 * whole suite at once) starts a process slowly.
 */
export const startConsumingWorker = async (
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<Running> => {
  const running = startCommand('processQueueMessages', args, env);
  await running.stderrIncludes('"msg":"consuming"', timeoutMs);
  return running;
};

export const runCommand = (
  command: Parameters<typeof startCommand>[0],
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
): Promise<Finished> => {
  const running = startCommand(command, args, env);
  running.child.stdin!.end(stdin ?? '');
  return running.finished;
};

/**
 * Like `runCommand`, run under `/usr/bin/time -f %M`, which prints the peak RSS (KiB) of the
 * command as the last line of its stderr; that line is taken off and returned apart.
 */
export const runTimed = async (
  command: Parameters<typeof startCommand>[0],
  args: string[],
  env: Record<string, string> = {},
): Promise<Finished & { peakKiB: number | undefined }> => {
  const result = await runCommand(command, args, { ...env, COMMAND_WRAPPER: '/usr/bin/time' });
  const lines = result.stderr.trimEnd().split('\n');
  const last = lines.at(-1) ?? '';
  if (!/^\d+$/.test(last)) return { ...result, peakKiB: undefined };
  return { ...result, stderr: `${lines.slice(0, -1).join('\n')}\n`, peakKiB: Number(last) };
};
