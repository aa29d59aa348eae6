import test from 'ava';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import type { RecordedOutcome } from '../../../../src/cli/shared/backfill/tally.js';
import { BackfillProgress, summaryText } from '../../../../src/cli/shared/backfill/progress.js';
import { configureLog } from '../../../../src/log.js';

/** A clock the test moves by hand. */
const clock = (start = 1_700_000_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

const sent = (reviewSystem: string) => ({ status: 'sent' as const, reviewSystem });
const skipped = { status: 'skipped' as const };
const failed = (node: string | undefined, message: string) => ({
  status: 'failed' as const,
  node,
  error: new Error(message),
});
const push = (id: number, ...outcomes: RecordedOutcome['outcomes']): RecordedOutcome => ({
  job: { label: `push ${id}` },
  outcomes,
});

/** A stream cli-progress takes for a terminal, collecting what is drawn. */
const fakeTerminal = () => {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
  let drawn = '';
  stream.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
  return { stream, drawn: () => drawn };
};

/** Lines written to stderr while `fn` runs, parsed as JSON. */
const captureLogLines = async (
  fn: (linesSoFar: () => number) => Promise<void> | void,
): Promise<Record<string, unknown>[]> => {
  const original = process.stderr.write.bind(process.stderr);
  let written = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn(() => written.split('\n').length - 1);
  } finally {
    process.stderr.write = original;
  }
  return written
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
};

test('the ETA at a steady pace is the time really left', (t) => {
  const c = clock();
  const progress = new BackfillProgress({ totalPushes: 1000, tty: false, now: c.now });
  for (let id = 1; id <= 300; id += 1) {
    c.advance(100);
    progress.record(push(id, sent('phabricator')));
  }
  progress.stop();
  // 700 pushes left at 10 a second.
  const eta = progress.snapshot().etaSeconds!;
  t.true(Math.abs(eta - 70) <= 2, `ETA ${eta} s`);
});

test('the ETA does not jump with bursts of results', (t) => {
  const c = clock();
  const progress = new BackfillProgress({ totalPushes: 1000, tty: false, now: c.now });
  const etas: number[] = [];
  let id = 0;
  // 10 a second on average, arriving as 20 at once every 2 s (concurrent requests settle together).
  for (let burst = 0; burst < 25; burst += 1) {
    c.advance(2000);
    for (let i = 0; i < 20; i += 1) {
      id += 1;
      progress.record(push(id, sent('phabricator')));
      c.advance(1);
    }
    etas.push(progress.snapshot().etaSeconds!);
  }
  progress.stop();
  const trueLeft = (1000 - id) / 10;
  const last = etas[etas.length - 1]!;
  t.true(Math.abs(last - trueLeft) / trueLeft < 0.1, `ETA ${last} s, true ${trueLeft} s`);
  // Once a window of history exists, successive estimates only ever fall by about the burst time.
  for (let i = 10; i < etas.length; i += 1) {
    const step = etas[i - 1]! - etas[i]!;
    t.true(step > 0 && step < 4, `ETA went from ${etas[i - 1]} to ${etas[i]} s`);
  }
});

test('the ETA follows a change of pace within a minute', (t) => {
  const c = clock();
  const progress = new BackfillProgress({ totalPushes: 2000, tty: false, now: c.now });
  let id = 0;
  const pushes = (count: number, every: number) => {
    for (let i = 0; i < count; i += 1) {
      c.advance(every);
      id += 1;
      progress.record(push(id));
    }
  };
  pushes(400, 50);
  pushes(600, 200);
  progress.stop();
  // 1000 left at the new pace of 5 a second; the average since the start would say ~160 s.
  const eta = progress.snapshot().etaSeconds!;
  t.true(Math.abs(eta - 200) <= 10, `ETA ${eta} s`);
});

test('the ETA is unknown before there is a pace, and 0 when done', (t) => {
  const c = clock();
  const progress = new BackfillProgress({ totalPushes: 2, tty: false, now: c.now });
  t.is(progress.snapshot().etaSeconds, null);
  c.advance(500);
  progress.record(push(1));
  t.is(progress.snapshot().etaSeconds, null, 'half a second is too little to go by');
  c.advance(1000);
  progress.record(push(2));
  t.is(progress.snapshot().etaSeconds, 0);
  progress.stop();
});

test('on a terminal the bar shows percentage, counts and the smoothed ETA', (t) => {
  const c = clock();
  const terminal = fakeTerminal();
  const progress = new BackfillProgress({
    totalPushes: 1000,
    tty: true,
    out: terminal.stream,
    now: c.now,
  });
  for (let id = 1; id <= 300; id += 1) {
    c.advance(100);
    progress.record(
      push(id, sent('phabricator'), ...(id % 100 === 0 ? [skipped] : []), sent('none')),
    );
  }
  progress.stop();
  // Each redraw starts with cursor movements; without them, the frames follow one another.
  const frames = stripVTControlCharacters(terminal.drawn()).split(/(?=pushes )/);
  const last = frames.pop() ?? '';
  t.regex(
    last,
    /^pushes \S+ 30% 300\/1000 \| changesets 600 \| ETA 1m 10s \| failed 0 \| skipped 3 \| 20\.0\/s/,
  );
});

test('pushes that land during the run raise the total, never lower it: the bar stops at 100%', (t) => {
  const c = clock();
  const terminal = fakeTerminal();
  const progress = new BackfillProgress({
    totalPushes: 10,
    tty: true,
    out: terminal.stream,
    now: c.now,
  });
  for (let id = 1; id <= 20; id += 1) {
    c.advance(100);
    progress.raiseTotal(id <= 5 ? 10 : 20);
    progress.raiseTotal(15); // a smaller figure read late changes nothing
    progress.record(push(id, sent('none')));
  }
  progress.stop();
  t.like(progress.snapshot(), { pushesDone: 20, pushesTotal: 20, percent: 100, etaSeconds: 0 });
  t.like(progress.summaryFields(), { pushes: 20, pushesTotal: 20 });
  const frames = stripVTControlCharacters(terminal.drawn()).split(/(?=pushes )/);
  t.regex(frames.pop() ?? '', /^pushes \S+ 100% 20\/20 /);
});

test.serial('off a terminal, progress is a JSON log event every interval', async (t) => {
  configureLog({ level: 'info' });
  const c = clock();
  const lines = await captureLogLines(async (linesSoFar) => {
    const progress = new BackfillProgress({
      totalPushes: 40,
      tty: false,
      intervalMs: 20,
      now: c.now,
    });
    for (let id = 1; id <= 10; id += 1) {
      c.advance(500);
      progress.record(push(id, sent('phabricator'), failed('abcdef123456', 'boom')));
    }
    // Two intervals at least; a busy machine may run the timer late, so wait for the lines.
    const deadline = Date.now() + 10_000;
    while (linesSoFar() < 2 && Date.now() < deadline) await sleep(20);
    progress.stop();
  });
  configureLog({ level: 'silent' });
  t.true(lines.length >= 2, JSON.stringify(lines));
  for (const line of lines) {
    t.deepEqual(Object.keys(line), [
      'level',
      'time',
      'msg',
      'pushesDone',
      'pushesTotal',
      'percent',
      'changesets',
      'rate',
      'skipped',
      'failed',
      'etaSeconds',
    ]);
  }
  t.like(lines[0], {
    level: 'info',
    msg: 'progress',
    pushesDone: 10,
    pushesTotal: 40,
    percent: 25,
    changesets: 20,
    rate: 4,
    skipped: 0,
    failed: 10,
    etaSeconds: 15,
  });
});

const withFailures = (c: ReturnType<typeof clock>, tty: boolean, out?: PassThrough) => {
  const progress = new BackfillProgress({ totalPushes: 8, tty, out, now: c.now });
  const notFound = (node: string) =>
    `changeset ${node} was not found in https://hg.mozilla.org/mozilla-central`;
  const nodes = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc', 'dddddddddddd', 'eeeeeeeeeeee'];
  nodes.forEach((node, i) => {
    c.advance(1000);
    progress.record(push(i + 1, sent('phabricator'), failed(node, notFound(node))));
  });
  c.advance(1000);
  progress.record(
    push(
      6,
      failed(
        'ffffffffffff',
        'GET https://bugzilla.mozilla.org/rest/bug/123456?include_fields=id answered 500',
      ),
    ),
  );
  c.advance(1000);
  progress.record(push(7, skipped, skipped, sent('mozreview')));
  c.advance(1000);
  progress.record(
    push(8, failed(undefined, 'GET https://hg.mozilla.org/json-pushes answered 503')),
  );
  progress.stop();
  return progress;
};

test('the summary groups failures by reason, with a count and at most 3 examples', (t) => {
  const progress = withFailures(clock(), false);
  t.is(progress.failures.length, 7, 'one line per failure still');
  t.is(
    progress.summary(),
    [
      '8 pushes, 13 changesets in 8.0 s (1.6 changesets/s)',
      'pings by review system:',
      '  mozreview: 1',
      '  phabricator: 5',
      'already sent / skipped: 2',
      'failures: 7',
      '  5 × changeset <node> was not found in https://hg.mozilla.org/mozilla-central',
      '      push 1 aaaaaaaaaaaa',
      '      push 2 bbbbbbbbbbbb',
      '      push 3 cccccccccccc',
      '      … and 2 more',
      '  1 × GET https://bugzilla.mozilla.org/rest/bug/<n> answered 500',
      '      push 6 ffffffffffff',
      '  1 × GET https://hg.mozilla.org/json-pushes answered 503',
      '      push 8',
    ].join('\n'),
  );
});

test('printSummary: text on a terminal', (t) => {
  const terminal = fakeTerminal();
  const progress = withFailures(clock(), true, terminal.stream);
  progress.printSummary();
  t.true(terminal.drawn().endsWith(`${progress.summary()}\n`));
});

test.serial('printSummary: one JSON summary event off a terminal', async (t) => {
  configureLog({ level: 'info' });
  const progress = withFailures(clock(), false);
  const lines = await captureLogLines(() => progress.printSummary());
  configureLog({ level: 'silent' });
  t.is(lines.length, 1);
  t.deepEqual(
    { ...lines[0], time: undefined },
    {
      level: 'info',
      time: undefined,
      msg: 'summary',
      pushes: 8,
      pushesTotal: 8,
      changesets: 13,
      seconds: 8,
      rate: 1.6,
      pings: { mozreview: 1, phabricator: 5 },
      skipped: 2,
      failed: 7,
      failures: [
        {
          reason: 'changeset <node> was not found in https://hg.mozilla.org/mozilla-central',
          count: 5,
          examples: ['push 1 aaaaaaaaaaaa', 'push 2 bbbbbbbbbbbb', 'push 3 cccccccccccc'],
        },
        {
          reason: 'GET https://bugzilla.mozilla.org/rest/bug/<n> answered 500',
          count: 1,
          examples: ['push 6 ffffffffffff'],
        },
        {
          reason: 'GET https://hg.mozilla.org/json-pushes answered 503',
          count: 1,
          examples: ['push 8'],
        },
      ],
    },
  );
});

test('a summary with nothing sent says so, and the text is what the fields say', (t) => {
  const c = clock();
  const progress = new BackfillProgress({ totalPushes: 3, tty: false, now: c.now });
  c.advance(2000);
  progress.record(push(1, skipped));
  progress.stop();
  t.is(
    progress.summary(),
    [
      '1 pushes, 0 changesets in 2.0 s (0.0 changesets/s)',
      'pings by review system:',
      '  (none)',
      'already sent / skipped: 1',
      'failures: 0',
    ].join('\n'),
  );
  t.is(summaryText(progress.summaryFields()), progress.summary());
});

test('a backfill of git commits counts in commits (backfill-git), in the summary and on the bar', (t) => {
  const c = clock();
  const terminal = fakeTerminal();
  const progress = new BackfillProgress({
    totalPushes: 2,
    tty: true,
    out: terminal.stream,
    now: c.now,
    unit: 'commits',
  });
  c.advance(1000);
  progress.record(push(1, sent('phabricator')));
  progress.stop();
  t.true(progress.summary().startsWith('1 commits, 1 changesets in 1.0 s'), progress.summary());
  t.regex(stripVTControlCharacters(terminal.drawn()), /commits .* 1\/2 \| changesets 1 /);
});

test.serial(
  'a git backfill names its counts in commits, in progress events and the summary',
  async (t) => {
    configureLog({ level: 'info' });
    const c = clock();
    const lines = await captureLogLines(async (linesSoFar) => {
      const progress = new BackfillProgress({
        totalPushes: 4,
        tty: false,
        intervalMs: 20,
        now: c.now,
        unit: 'commits',
      });
      c.advance(1000);
      progress.record(push(1, sent('phabricator')));
      const deadline = Date.now() + 10_000;
      while (linesSoFar() < 1 && Date.now() < deadline) await sleep(20);
      progress.stop();
      progress.printSummary();
    });
    configureLog({ level: 'silent' });
    const progressLine = lines.find((line) => line.msg === 'progress');
    const summary = lines.find((line) => line.msg === 'summary');
    t.like(progressLine, { commitsDone: 1, commitsTotal: 4, percent: 25 });
    t.like(summary, { commits: 1, commitsTotal: 4, changesets: 1 });
    for (const line of [progressLine, summary]) {
      t.deepEqual(
        Object.keys(line ?? {}).filter((key) => key.startsWith('pushes')),
        [],
        'no field says pushes',
      );
    }
  },
);
