/**
 * The README runs the commands from the checkout as `npx <command>`. npx links the checkout's
 * bins into its cache and runs them from there; a backfill that stops early must still print
 * a resume command a person can type, not a path into npm's cache.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentId } from '../../../src/rules/ping.js';
import type { Finished } from '../../support/cli.js';
import { recordedFixtures } from '../../support/data/fixtureData.js';
import { startFixtures } from '../../support/standIns/fixtureServer.js';
import { ROOT } from '../../support/root.js';

const DIR = mkdtempSync(join(tmpdir(), 'cts-resume-npx-'));
test.after.always(() => rmSync(DIR, { recursive: true, force: true }));

/** Runs a shell command line from the checkout, as a person at a terminal there would. */
const shell = (line: string, env: Record<string, string>): Promise<Finished> =>
  new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', line], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

const resumeEvent = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; command?: string; resumeAfter?: number })
    .find((event) => event.msg === 'resume');

test('through npx: the resume command is `npx backfill-pushlog ...`, and it runs as printed', async (t) => {
  // The stand-in's recorded pushes; telemetry refuses one ping of the first run, that of the
  // first push's first changeset. ("The first PUT" was any push's: the pushes run together,
  // and when another's came first the resume started after the first push.)
  const fx = await startFixtures();
  t.teardown(() => fx.close());
  const repo = fx.repo('integration/autoland');
  const firstPush = recordedFixtures().pushlog('integration/autoland')!.pushes['182541']!;
  const refused = documentId(repo, firstPush.changesets[0]!);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    // npx's cache (where it links the checkout's bins) of this test alone, and no registry.
    npm_config_cache: join(DIR, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    DATABASE_URL: `sqlite:${join(DIR, 'store.sqlite')}`,
    ...fx.env,
  };
  fx.fail({ match: new RegExp(`^PUT /submit/.*/${refused}$`), status: 400, times: 1 });

  const first = await shell(`npx backfill-pushlog --yes ${repo} 182540 182548`, env);
  t.is(first.code, 1, first.stderr);
  const event = resumeEvent(first.stderr);
  t.is(event?.command, `npx backfill-pushlog --yes ${repo} 182540 182548`, first.stderr);
  t.notRegex(event?.command ?? '', /_npx|node_modules|npm-cache/);

  const again = await shell(event!.command!, env);
  t.is(again.code, 0, again.stderr);
  t.is(resumeEvent(again.stderr), undefined);
  t.regex(again.stderr, /"msg":"summary".*"failed":0/);
});
