import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PipelineError } from '../src/errors.js';
import { configureLog, formatJson, formatText, log, type LogEntry } from '../src/log.js';
import { ROOT } from './support/root.js';

const root = ROOT;

/** What the logger writes to stderr while `fn` runs. */
const captureStderr = (fn: () => void): string => {
  const original = process.stderr.write.bind(process.stderr);
  let written = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return written;
};

/** Each line written while `fn` runs, parsed; throws if one is not JSON. */
const captureLines = (fn: () => void): Record<string, unknown>[] =>
  captureStderr(fn)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test.serial('off a terminal a line is {level, time, msg, ...fields} and nothing else', (t) => {
  configureLog({ level: 'info' });
  const [line] = captureLines(() =>
    log.info('pinged', { job: 'push 7', repository: 'https://hg.mozilla.org/x', push: 7 }),
  );
  t.deepEqual(Object.keys(line!), ['level', 'time', 'msg', 'job', 'repository', 'push']);
  t.like(line, {
    level: 'info',
    msg: 'pinged',
    job: 'push 7',
    repository: 'https://hg.mozilla.org/x',
    push: 7,
  });
  t.regex(line!.time as string, ISO_TIME);
  t.true(Math.abs(Date.parse(line!.time as string) - Date.now()) < 5000);
});

test.serial('each method writes its own level name; a message alone has no fields', (t) => {
  configureLog({ level: 'debug' });
  const lines = captureLines(() => {
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
  });
  t.deepEqual(
    lines.map((line) => [line.level, line.msg, Object.keys(line).length]),
    [
      ['debug', 'd', 3],
      ['info', 'i', 3],
      ['warn', 'w', 3],
      ['error', 'e', 3],
    ],
  );
});

test.serial('levels: lower lines are dropped, silent drops everything', (t) => {
  configureLog({ level: 'info' });
  t.is(
    captureStderr(() => log.debug('detail')),
    '',
  );
  configureLog({ level: 'error' });
  t.deepEqual(
    captureLines(() => {
      log.warn('w');
      log.error('e');
    }).map((line) => line.msg),
    ['e'],
  );
  configureLog({ level: 'silent' });
  t.is(
    captureStderr(() => log.error('e')),
    '',
  );
});

test.serial('an error is {message, kind, cause}; its stack only at debug level', (t) => {
  const error = new PipelineError('GET https://hg.mozilla.org/x answered 503', 'transient', {
    cause: new Error('socket hang up', { cause: 'ECONNRESET' }),
  });
  configureLog({ level: 'info' });
  const [line] = captureLines(() => log.error('could not fetch', { node: 'abc', error }));
  t.deepEqual(line!.error, {
    message: 'GET https://hg.mozilla.org/x answered 503',
    kind: 'transient',
    cause: { message: 'socket hang up', cause: { message: 'ECONNRESET' } },
  });

  configureLog({ level: 'debug' });
  const [debug] = captureLines(() => log.error('could not fetch', { error }));
  const logged = debug!.error as { stack?: string; cause?: { stack?: string } };
  t.regex(logged.stack ?? '', /^PipelineError: GET .*\n\s+at /);
  t.regex(logged.cause?.stack ?? '', /^Error: socket hang up/);
  configureLog({ level: 'silent' });
});

test.serial('registered secrets, URL credentials and credential keys never show', (t) => {
  configureLog({ level: 'info', secrets: ['hunter2-long-secret'] });
  const written = captureStderr(() => {
    log.info('connecting with hunter2-long-secret', { attempt: 1 });
    log.info('settings', {
      PULSE_PASSWORD: 'other-secret',
      nested: { Password: 'third', headers: { Authorization: 'Bearer tok', cookie: 'c=1' } },
      urls: ['amqps://bob:s3cr3t@pulse.mozilla.org:5671/'],
      note: 'the password is hunter2-long-secret',
    });
    log.warn('amqps://bob:s3cr3t@pulse.mozilla.org:5671/ is down', {
      error: new Error('connect to https://bob:s3cr3t@example.com failed', {
        cause: new Error('hunter2-long-secret rejected'),
      }),
    });
  });
  for (const secret of [
    'hunter2-long-secret',
    'other-secret',
    'third',
    's3cr3t',
    'Bearer',
    'c=1',
  ]) {
    t.false(written.includes(secret), secret);
  }
  t.true(written.includes('amqps://***@pulse.mozilla.org:5671/'));
  t.true(written.includes('"PULSE_PASSWORD":"[***]"'));
  configureLog({ level: 'silent' });
});

test.serial(
  'a short password equal to the user name is masked only where it is a password',
  (t) => {
    configureLog({ level: 'info', secrets: ['guest'] });
    const [line] = captureLines(() =>
      log.info('consuming queue/guest/name', {
        queue: 'queue/guest/name',
        user: 'guest',
        url: 'amqps://guest:guest@pulse.mozilla.org:5671',
        password: 'guest',
      }),
    );
    t.deepEqual(line, {
      level: 'info',
      time: line!.time,
      msg: 'consuming queue/guest/name',
      queue: 'queue/guest/name',
      user: 'guest',
      url: 'amqps://***@pulse.mozilla.org:5671',
      password: '[***]',
    });
    configureLog({ level: 'silent' });
  },
);

test.serial('values JSON cannot hold are made printable; fields cannot overwrite level', (t) => {
  configureLog({ level: 'info' });
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const [line] = captureLines(() =>
    log.info('odd values', {
      cyclic,
      big: 10n,
      nan: Number.NaN,
      when: new Date(0),
      map: new Map([['a', 1]]),
      set: new Set(['x']),
      body: Buffer.from('abc'),
      level: 'mine',
    }),
  );
  t.like(line, {
    level: 'info',
    _level: 'mine',
    cyclic: { name: 'loop', self: '[Circular]' },
    big: '10',
    nan: 'NaN',
    when: '1970-01-01T00:00:00.000Z',
    map: { a: 1 },
    set: ['x'],
    body: '[3 bytes]',
  });
  configureLog({ level: 'silent' });
});

test.serial('a call in the old style, log.info({ message, ...fields }), still reads well', (t) => {
  configureLog({ level: 'info' });
  // As an old caller would, past the types: one object, no message string.
  const [line] = captureLines(() =>
    Reflect.apply(log.info, log, [{ message: 'stopped', received: 3 }]),
  );
  t.like(line, { level: 'info', msg: 'stopped', received: 3 });
  configureLog({ level: 'silent' });
});

const entry: LogEntry = {
  level: 'warn',
  time: new Date(2024, 0, 2, 3, 4, 5),
  msg: 'parked',
  fields: {
    job: 'message 12',
    push: 7,
    reviewSystems: { phabricator: 2 },
    note: 'two words',
    error: { message: 'boom', kind: 'permanent', stack: 'Error: boom\n    at x' },
  },
};

test('on a terminal a line is time, level, message, then key=value', (t) => {
  t.is(
    formatText(entry, false),
    '03:04:05 WARN  parked job="message 12" push=7 reviewSystems.phabricator=2 note="two words" ' +
      'error.message=boom error.kind=permanent\n    Error: boom\n        at x',
  );
});

test('colours only when asked', (t) => {
  t.false(formatText(entry, false).includes('\x1b['));
  t.true(formatText(entry, true).includes('\x1b[33mWARN \x1b[0m parked'));
});

test('formatJson puts level, time and msg first', (t) => {
  t.is(
    formatJson({ ...entry, fields: { push: 7 } }),
    `{"level":"warn","time":"${entry.time.toISOString()}","msg":"parked","push":7}`,
  );
});

const run = promisify(execFile);
const script = (body: string): string =>
  `const { log, configureLog } = await import(${JSON.stringify(`${root}src/log.ts`)});\n${body}`;

test('end to end: with stderr not a terminal every line is one JSON object', async (t) => {
  const { stderr } = await run(
    process.execPath,
    [
      '--import=tsx',
      '-e',
      script(`
        configureLog({ level: 'debug', secrets: ['guest'] });
        log.debug('starting');
        log.info('connected', { host: 'pulse.mozilla.org', url: 'amqps://guest:guest@pulse.mozilla.org' });
        log.warn('slow', { job: 'message 1', queue: 'queue/guest/name' });
        log.error('failed', { error: new Error('boom') });
      `),
    ],
    { cwd: root },
  );
  const lines = stderr
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.deepEqual(
    lines.map((line) => line.level),
    ['debug', 'info', 'warn', 'error'],
  );
  for (const line of lines) {
    t.deepEqual(Object.keys(line).slice(0, 3), ['level', 'time', 'msg']);
    t.false('_meta' in line);
    t.regex(line.time as string, ISO_TIME);
  }
  t.is(lines[1]!.url, 'amqps://***@pulse.mozilla.org');
  t.is(lines[2]!.queue, 'queue/guest/name');
  t.regex((lines[3]!.error as { stack: string }).stack, /^Error: boom/);
});

test('end to end: on a terminal, text; NO_COLOR keeps it plain', async (t) => {
  const { stderr } = await run(
    process.execPath,
    [
      '--import=tsx',
      '-e',
      // A pipe stands in for the terminal: what the logger checks is isTTY.
      `process.stderr.isTTY = true;\n${script(`log.warn('slow', { job: 'message 1', n: 2 });`)}`,
    ],
    { cwd: root, env: { ...process.env, NO_COLOR: '1' } },
  );
  t.regex(stderr, /^\d\d:\d\d:\d\d WARN {2}slow job="message 1" n=2\n$/);
});

test('a thrown value nested thousands deep, or megabytes long, is logged bounded, never serialised whole', (t) => {
  configureLog({ level: 'info' });
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i += 1) deep = [deep];
  const huge = { heads: ['x'.repeat(5_000_000)] };
  const [line, other] = captureLines(() => {
    log.error('deep', { error: deep, cause: new Error('outer', { cause: deep }) });
    log.error('huge', { error: new Error('outer', { cause: huge }) });
  });
  const cause = (line?.cause as { cause?: { message: string } }).cause?.message ?? '';
  t.true(cause.startsWith('[[[[') && cause.length <= 1_000, `${cause.length} characters`);
  const big = (other?.error as { cause?: { message: string } }).cause?.message ?? '';
  t.true(big.startsWith('{"heads":["xxx') && big.length <= 1_000, `${big.length} characters`);
  configureLog({ level: 'silent' });
});
