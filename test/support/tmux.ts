import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where tmux is, and whether it is there at all (a test skips without it). */
export const TMUX = '/usr/bin/tmux';
export const hasTmux = (): boolean => spawnSync(TMUX, ['-V']).status === 0;

export interface TmuxOptions {
  /** The pane's working directory. */
  readonly cwd: string;
  /** The whole environment of the server, hence of the pane's shell: nothing else leaks in. */
  readonly env: Record<string, string>;
  /** The pane's size, fixed so that what is drawn does not depend on who runs the test. */
  readonly width?: number;
  readonly height?: number;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  /** Where in the pane's text to start looking, e.g. after an earlier command's output. */
  readonly from?: number;
}

export interface Waited {
  readonly match: RegExpExecArray;
  /** The text from `from` on, which `match` indexes into. */
  readonly rest: string;
  readonly text: string;
}

/** A pane of a private tmux server, as a person at a terminal would use it. */
export interface TmuxPane {
  /** Presses keys, in tmux's names: `y`, `Enter`, `C-c`. */
  keys(...keys: string[]): Promise<void>;
  /** Types `text` as it is (no key names), without pressing Enter. */
  type(text: string): Promise<void>;
  /** What the pane shows, its scrollback included, with wrapped lines joined. */
  capture(): Promise<string>;
  /** A tmux format expanded for the pane, e.g. `#{cursor_flag}`: `1` if the cursor shows. */
  display(format: string): Promise<string>;
  /**
   * Polls the pane (every 100 ms) until its text from index `from` on (0 by default: all of
   * it) matches `pattern`; returns the match, that part of the text (`rest`) and all of it.
   * Fails after `timeoutMs` (20 s by default), showing what the pane had.
   */
  waitFor(pattern: RegExp, what: string, options?: WaitOptions): Promise<Waited>;
  /** Kills the server and removes its socket's directory; safe to call more than once. */
  kill(): Promise<void>;
}

/**
 * Starts a tmux server of its own (its socket in a fresh temp directory, so it never meets a
 * user's tmux or another test's, and no configuration file is read) with one detached
 * session of a fixed size whose pane runs an interactive bash, with no rc file and no history
 * written. Kill it when done (`kill`), in an `after.always` or a teardown.
 */
export const startTmux = async (options: TmuxOptions): Promise<TmuxPane> => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-tmux-'));
  const socket = join(dir, 'sock');
  const tmux = async (...args: string[]): Promise<string> =>
    (await run(TMUX, ['-S', socket, ...args], { env: options.env, timeout: 10_000 })).stdout;
  let killed = false;
  const pane: TmuxPane = {
    keys: async (...keys) => void (await tmux('send-keys', '-t', 'test', ...keys)),
    type: async (text) => void (await tmux('send-keys', '-t', 'test', '-l', text)),
    capture: () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'test'),
    display: async (format) => (await tmux('display-message', '-p', '-t', 'test', format)).trim(),
    waitFor: async (pattern, what, { timeoutMs = 20_000, from = 0 } = {}) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await pane.capture();
        const rest = text.slice(from);
        const match = pattern.exec(rest);
        if (match !== null) return { match, rest, text };
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what} (${String(pattern)}); the pane:\n${text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    kill: async () => {
      if (killed) return;
      killed = true;
      await tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await tmux(
      ...['-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-c', options.cwd],
      ...['-x', String(options.width ?? 120), '-y', String(options.height ?? 30)],
      ...['/bin/bash', '--norc', '--noprofile', '+o', 'history', '-i'],
    );
  } catch (error) {
    await pane.kill();
    throw error;
  }
  return pane;
};
