// Fatal errors as a person meets them in a terminal (a tmux pane running bash): one prefix
// style, `<command>: ...`, for the command-line parser's mistakes as for ours; never
// commander's `error: ...`, and no JSON.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../../../src/cli/shared/backfill/resumeCommand.js';
import { commandPath } from '../../support/cli.js';
import { hasTmux, startTmux } from '../../support/tmux.js';

const SHELL_PROMPT = /^\$ $/m;
const tmuxTest = hasTmux() ? test : test.skip;

tmuxTest('on a terminal every fatal line reads `<command>: ...`', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'cts-terminal-errors-'));
  const pane = await startTmux({
    cwd,
    width: 200,
    height: 30,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8', PS1: '$ ' },
  });
  t.teardown(async () => {
    await pane.kill();
    rmSync(cwd, { recursive: true, force: true });
  });
  await pane.waitFor(SHELL_PROMPT, "the shell's prompt");
  const run = async (words: string[], expected: RegExp) => {
    await pane.type(words.map(shellQuote).join(' '));
    await pane.keys('Enter');
    return pane.waitFor(expected, words.join(' '));
  };
  await run(
    ['node', commandPath('backfillPushlog'), '--bogus'],
    /^backfill-pushlog: unknown option '--bogus' \(run with --help for usage\)$/m,
  );
  await run(
    ['env', 'HTTP_CONCURRENCY=lots', 'node', commandPath('dumpTelemetry'), 'f7ea35ab0117'],
    /^dump-telemetry: bad settings, fix these environment variables:\n {2}HTTP_CONCURRENCY: expected/m,
  );
  const text = await pane.capture();
  t.notRegex(text, /^error: /m);
  t.notRegex(text, /^\{"level"/m);
});
