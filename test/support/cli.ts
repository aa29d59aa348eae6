import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

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
  readonly finished: Promise<Finished>;
}

/** The built command, as users run it; `npm test` builds first (its `pretest`). */
export const commandPath = (command: string): string => join(ROOT, `dist/src/cli/${command}.js`);

/**
 * Runs one of the built commands with only the environment given (plus PATH and HOME), so no
 * setting leaks in from the test runner, in a fresh working directory of its own (removed
 * when it exits): no `.env` of the checkout is read, and the default SQLite store is the
 * run's own. A test that needs one store across runs names it in DATABASE_URL.
 */
export const startCommand = (
  command: 'dumpTelemetry' | 'backfillPushlog' | 'processQueueMessages',
  args: string[],
  env: Record<string, string> = {},
): Running => {
  const cwd = mkdtempSync(join(tmpdir(), 'cts-command-'));
  const child = spawn(process.execPath, [commandPath(command), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => {
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, finished };
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
