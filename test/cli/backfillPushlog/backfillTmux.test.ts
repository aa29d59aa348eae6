// backfill-pushlog as a person meets it: in a terminal (a tmux pane running bash), answering
// the prompt, watching the progress bar, pressing Ctrl-C, then typing the resume command it
// printed. Each test has a tmux server, fixture servers and a working directory of its own.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../../../src/cli/shared/backfill/resumeCommand.js';
import { DEFAULT_BOUNDS } from '../../../src/pipeline/index.js';
import { documentId } from '../../../src/rules/ping.js';
import { commandPath } from '../../support/cli.js';
import { startFixtures } from '../../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { hasTmux, startTmux, type TmuxPane } from '../../support/tmux.js';

const PUSHES = 400;
const PER_PUSH = 3;
/** Per request: with it, 400 pushes take several seconds (about 6 on an idle machine). */
const LATENCY_MS = 20;
/** From Ctrl-C to the shell's prompt: the pushes in flight finish, the summary is printed. */
const WIND_DOWN_MS = 10_000;
const REPO_PATH = 'integration/autoland';
const SUBMIT_PATH = '/submit/eng-workflow/hgpush/1/';
/** How the tests start the built command, hence how its resume command starts. */
const INVOCATION = ['node', commandPath('backfillPushlog')];

/** Whatever a test started, undone even when it failed or timed out. */
const cleanups: (() => Promise<void> | void)[] = [];
test.after.always(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The bar as progress.ts draws it, with a known ETA (not `--`); its numbers as groups. */
const BAR =
  /^pushes ([=-]{16}) (\d+)% (\d+)\/(\d+) \| changesets (\d+) \| ETA (\d+s|\d+m \d\ds|\d+h \d\dm) \| failed (\d+) \| skipped (\d+) \| ([\d.]+)\/s/m;
const SUMMARY = /^(\d+) pushes, (\d+) changesets in [\d.]+ s \([\d.]+ changesets\/s\)$/m;
const PROMPT = /^Proceed\? \[y\/N\] $/m;
/** The shell's prompt with nothing typed after it: the command before it has ended. */
const SHELL_PROMPT = /^\$ $/m;
const RESUME = /^To resume after push (\d+), the last one completely done:\n {2}(.+)$/m;

/** Fixture servers, and a tmux pane at a shell's prompt whose environment points at them. */
const setup = async (pushes: number) => {
  const data = syntheticFixtures({ pushes, changesetsPerPush: PER_PUSH, repoPath: REPO_PATH });
  const fx = await startFixtures({ data, latencyMs: LATENCY_MS });
  cleanups.push(() => fx.close());
  // The pane's working directory, HOME and store: nothing outside it is written.
  const cwd = mkdtempSync(join(tmpdir(), 'cts-backfill-tmux-'));
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
  const pane = await startTmux({
    cwd,
    width: 120,
    height: 30,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: cwd,
      LANG: 'C.UTF-8',
      PS1: '$ ',
      ...fx.env,
      DATABASE_URL: `sqlite:${join(cwd, 'store.sqlite')}`,
      HTTP_CONCURRENCY: '8',
    },
  });
  cleanups.push(() => pane.kill());
  await pane.waitFor(SHELL_PROMPT, "the shell's prompt");
  return { fx, data, repo: fx.repo(REPO_PATH), pane };
};

/** The command line that backfills the pushes after `start` up to `end`. */
const backfill = (repo: string, start: number, end: number, ...options: string[]) =>
  [...INVOCATION, ...options, repo, String(start), String(end)].map(shellQuote).join(' ');

/** Types a command line at the shell's prompt and presses Enter. */
const enter = async (pane: TmuxPane, command: string) => {
  await pane.type(command);
  await pane.keys('Enter');
};

/**
 * Waits for the shell's prompt to come back after index `from` of the pane's text, then asks
 * the shell for `$?`. (It is asked at the prompt, not with `cmd; echo $?`: bash drops the
 * rest of a command line whose command died of SIGINT, as a Ctrl-C'd one should.)
 */
const exitStatus = async (pane: TmuxPane, from: number, timeoutMs = 60_000) => {
  await pane.waitFor(SHELL_PROMPT, "the shell's prompt again", { from, timeoutMs });
  await enter(pane, 'echo "exit=$?"');
  const { match, rest } = await pane.waitFor(/^exit=(\d+)$/m, 'the exit status', { from });
  // `rest` is everything the command printed; `end` is where the next one's output starts.
  return { status: Number(match[1]), rest, end: from + match.index + match[0].length };
};

/** The counts of the text summary; it must say nothing was skipped and nothing failed. */
const summaryOf = (t: ExecutionContext, text: string) => {
  const match = SUMMARY.exec(text);
  if (match === null) throw new Error(`no summary in:\n${text}`);
  const systems = /pings by review system:\n((?: {2}\S+: \d+\n)+)/.exec(text)?.[1] ?? '';
  const pings = [...systems.matchAll(/: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  t.regex(text, /^already sent \/ skipped: 0$/m);
  t.regex(text, /^failures: 0$/m);
  return { pushes: Number(match[1]), changesets: Number(match[2]), pings };
};

/** How many times each path was PUT to the fixture telemetry server. */
const putsByPath = (requests: readonly string[]): Map<string, number> => {
  const puts = new Map<string, number>();
  for (const request of requests.filter((r) => r.startsWith('PUT '))) {
    const path = request.slice('PUT '.length);
    puts.set(path, (puts.get(path) ?? 0) + 1);
  }
  return puts;
};

const tmuxTest = hasTmux() ? test : test.skip;

tmuxTest('in tmux: the prompt, the bar with an ETA, Ctrl-C, then the resume command', async (t) => {
  const { fx, data, repo, pane } = await setup(PUSHES);

  // --- The first run: asks, shows the bar, stops soon after Ctrl-C ---------------------------
  await enter(pane, backfill(repo, 0, PUSHES));
  const asked = await pane.waitFor(PROMPT, 'the prompt');
  t.true(
    asked.rest.includes(`${repo}: pushes 1 to ${PUSHES}, ${PUSHES} pushes; pings will be sent to `),
    asked.rest,
  );
  t.deepEqual(fx.tmo.requests, [], 'nothing is sent before the answer');
  await pane.keys('y', 'Enter');

  const { match: bar } = await pane.waitFor(BAR, 'the bar with an ETA', { timeoutMs: 30_000 });
  const [, , percent, done, total, changesets, , failed, skipped] = bar.map(Number);
  t.is(total, PUSHES, bar[0]);
  t.true(done! > 0 && done! < PUSHES, bar[0]);
  t.is(percent, Math.floor((done! / PUSHES) * 100), bar[0]);
  t.is(changesets, done! * PER_PUSH, bar[0]);
  t.is(bar[1]!.replace(/-/g, '').length, Math.round((done! / PUSHES) * 16), bar[0]);
  t.deepEqual([failed, skipped], [0, 0], bar[0]);
  t.is(await pane.display('#{cursor_flag}'), '0', 'the cursor is hidden while the bar shows');

  await pane.keys('C-c');
  const pressed = Date.now();
  const from = asked.match.index + asked.match[0].length;
  const first = await exitStatus(pane, from, 30_000);
  const windDown = Date.now() - pressed;
  t.true(windDown < WIND_DOWN_MS, `it took ${windDown} ms to end after Ctrl-C`);
  t.is(first.status, 130, first.rest);
  t.is(await pane.display('#{cursor_flag}'), '1', 'the cursor shows again');
  const [before] = first.rest.split(
    '\nInterrupted: finishing the pushes in flight (Ctrl-C again to quit now).\n',
  );
  t.not(before, first.rest, `the notice:\n${first.rest}`);
  // The bar is left as it was at Ctrl-C: after it, only the pushes in flight were finished.
  const stoppedAt = [...before!.matchAll(/^pushes [=-]{16} \d+% (\d+)\//gm)].at(-1);
  t.truthy(stoppedAt, `the bar is left on screen:\n${first.rest}`);
  const summary = summaryOf(t, first.rest);
  const after = summary.pushes - Number(stoppedAt![1]);
  t.true(after >= 0 && after <= DEFAULT_BOUNDS.jobs, `${after} pushes done after Ctrl-C`);
  t.true(summary.pushes < PUSHES / 2, `stopped at ${summary.pushes} of ${PUSHES} pushes`);
  t.is(summary.changesets, summary.pushes * PER_PUSH);
  t.is(summary.pings, summary.changesets, 'the pings by review system add up');
  t.is(fx.tmo.received.size, summary.changesets, 'the summary counts every ping sent');
  const jsonRevs = fx.hg.requests.filter((r) => r.includes('/json-rev/')).length;
  t.is(jsonRevs, summary.changesets, 'no changeset of a push not taken was asked about');
  const resume = RESUME.exec(first.rest);
  t.truthy(resume, first.rest);
  t.is(Number(resume![1]), summary.pushes, 'every push done was done completely');
  const printed = resume![2]!;
  t.is(printed, backfill(repo, summary.pushes, PUSHES), 'the same options, from the mark on');

  // --- The resume command, typed as printed, does the rest ------------------------------------
  await enter(pane, printed);
  const again = await pane.waitFor(PROMPT, 'the prompt again', { from: first.end });
  const remaining = PUSHES - summary.pushes;
  const plan = `${repo}: pushes ${summary.pushes + 1} to ${PUSHES}, ${remaining} pushes;`;
  t.true(again.rest.includes(plan), again.rest);
  await pane.keys('y', 'Enter');
  const second = await exitStatus(pane, first.end);
  t.is(second.status, 0, second.rest);
  t.regex(second.rest, new RegExp(`^pushes =+ 100% ${remaining}/${remaining} \\| `, 'm'));
  t.deepEqual(summaryOf(t, second.rest), {
    pushes: remaining,
    changesets: remaining * PER_PUSH,
    pings: remaining * PER_PUSH,
  });
  t.notRegex(second.rest, /To resume|Interrupted/);
  t.is(await pane.display('#{cursor_flag}'), '1', 'the cursor shows');

  // Each changeset's ping reached telemetry once over both runs: the store's ledger saw to it.
  const puts = putsByPath(fx.tmo.requests);
  const expected = Array.from({ length: PUSHES }, (_, i) => data.nodes(i + 1))
    .flat()
    .map((node) => `${SUBMIT_PATH}${documentId(repo, node)}`);
  t.is(puts.size, expected.length);
  t.true(
    expected.every((path) => puts.get(path) === 1),
    'every changeset pinged exactly once',
  );
});

// A command that exits after Ctrl-C, even with 130, tells bash it dealt with the Ctrl-C
// itself, so a loop would go on to its next backfill; one that dies of SIGINT stops it.
tmuxTest('in tmux: Ctrl-C stops a shell loop of backfills, not just the one running', async (t) => {
  const { fx, data, repo, pane } = await setup(PUSHES);
  const ranges = ['0 200', '200 400'].map((range) => `"${range}"`).join(' ');
  const command = `${INVOCATION.map(shellQuote).join(' ')} --yes ${shellQuote(repo)} $range`;
  await enter(pane, `for range in ${ranges}; do ${command}; done`);
  await pane.waitFor(BAR, 'the bar with an ETA', { timeoutMs: 30_000 });
  await pane.keys('C-c');
  const { status, rest } = await exitStatus(pane, 0, 30_000);
  t.is(status, 130, rest);
  t.regex(rest, RESUME, 'the interrupted backfill says how to resume');
  t.false(rest.includes('pushes 201 to 400'), `the loop went on:\n${rest}`);
  const secondRange = Array.from({ length: 200 }, (_, i) => data.nodes(PUSHES - i)).flat();
  t.false(
    secondRange.some((node) => fx.tmo.received.has(`${SUBMIT_PATH}${documentId(repo, node)}`)),
    'no push of the second range was sent',
  );
});

tmuxTest('in tmux: Ctrl-C at the prompt quits with 130, having read no changeset', async (t) => {
  const { fx, repo, pane } = await setup(20);
  await enter(pane, backfill(repo, 0, 20));
  const asked = await pane.waitFor(PROMPT, 'the prompt');
  await pane.keys('C-c');
  const { status, rest } = await exitStatus(pane, asked.match.index + asked.match[0].length);
  t.is(status, 130, rest);
  t.notRegex(rest, /^pushes |To resume/m, 'no bar, no summary, nothing to resume');
  t.is(await pane.display('#{cursor_flag}'), '1');
  t.deepEqual(fx.tmo.requests, [], 'nothing sent');
  t.deepEqual(
    fx.hg.requests.filter((r) => !r.includes('/json-pushes')),
    [],
    'no changeset read',
  );
});
