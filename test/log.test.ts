import test from 'ava';
import { configureLog, log } from '../src/log.js';

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

test.serial('masks registered secrets, password fields and URL credentials', (t) => {
  configureLog({ level: 'info', secrets: ['hunter2'] });
  const written = captureStderr(() => {
    log.info('connecting with hunter2');
    log.info({ PULSE_PASSWORD: 'other-secret', password: 'third' });
    log.warn('amqps://bob:s3cr3t@pulse.mozilla.org:5671/ is down');
  });
  for (const secret of ['hunter2', 'other-secret', 'third', 's3cr3t']) {
    t.false(written.includes(secret), secret);
  }
  t.true(written.includes('amqps://bob:'));
});

test.serial('writes every line to stderr, one JSON object a line off a terminal', (t) => {
  configureLog({ level: 'info' });
  const written = captureStderr(() => log.info('one', { pushId: 7 }));
  const line = JSON.parse(written.trim()) as Record<string, unknown>;
  t.is(line.message, 'one');
  t.is(line.pushId, 7);
});

test.serial('hides debug lines unless asked for them', (t) => {
  configureLog({ level: 'info' });
  t.is(
    captureStderr(() => log.debug('detail')),
    '',
  );
  configureLog({ level: 'debug' });
  t.regex(
    captureStderr(() => log.debug('detail')),
    /detail/,
  );
  configureLog({ level: 'silent' });
});
