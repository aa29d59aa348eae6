import test from 'ava';
import {
  DEFAULT_DATABASE_URL,
  displayDatabaseUrl,
  parseDatabaseUrl,
  type DatabaseTarget,
} from '../../src/state/engines/databaseUrl.js';

const parsed = (raw: string | undefined): DatabaseTarget => {
  const result = parseDatabaseUrl(raw);
  if (!result.ok) throw result.error;
  return result.value;
};

const refusal = (raw: string): string => {
  const result = parseDatabaseUrl(raw);
  if (result.ok) throw new Error(`${raw} was accepted`);
  return result.error.message;
};

test('postgres:// and postgresql:// mean PostgreSQL, the URL kept whole for the driver', (t) => {
  for (const url of [
    'postgres://telemetry:s3cret@db.example:5433/telemetry',
    'postgresql://db.example/telemetry?sslmode=require',
    'POSTGRES://u@[::1]/x',
  ]) {
    t.deepEqual(parsed(url), { engine: 'postgres', url });
  }
});

test('sqlite:PATH means a file, relative or absolute, and sqlite::memory: a private one', (t) => {
  t.deepEqual(parsed('sqlite:data/telemetry.sqlite'), {
    engine: 'sqlite',
    path: 'data/telemetry.sqlite',
  });
  t.deepEqual(parsed('sqlite:/var/lib/telemetry.sqlite'), {
    engine: 'sqlite',
    path: '/var/lib/telemetry.sqlite',
  });
  t.deepEqual(parsed('sqlite::memory:'), { engine: 'sqlite', path: ':memory:' });
});

test('unset or blank means the default SQLite file', (t) => {
  t.is(DEFAULT_DATABASE_URL, 'sqlite:commit-telemetry.sqlite');
  for (const raw of [undefined, '', '  ']) {
    t.deepEqual(parsed(raw), { engine: 'sqlite', path: 'commit-telemetry.sqlite' });
  }
});

test('an unknown scheme or an unparsable value is refused, naming DATABASE_URL and what works', (t) => {
  const cases: [string, RegExp][] = [
    ['mysql://root@localhost/telemetry', /unknown scheme "mysql:"/],
    ['telemetry.sqlite', /has no scheme/],
    ['postgres:telemetry', /is not a URL \(expected postgres:\/\/\.\.\.\)/],
    ['postgres://host:port/x', /is not a valid URL/],
    ['sqlite:', /names no file/],
    // The driver would take the user's name for the database's, and the store's tables with it.
    ['postgres://postgres@127.0.0.1:5432', /names no database/],
    ['postgresql://u:pw@db.example/', /names no database/],
    ['sqlite:///tmp/x.sqlite', /is ambiguous \(write sqlite:PATH\)/],
  ];
  for (const [raw, why] of cases) {
    const message = refusal(raw);
    t.regex(message, /^DATABASE_URL /, raw);
    t.regex(message, why, raw);
    t.regex(message, /accepted: postgres:\/\/USER.*sqlite:PATH/, raw);
  }
});

test('a refused value is quoted with its password masked', (t) => {
  const message = refusal('mysql://root:hunter2@localhost/telemetry');
  t.false(message.includes('hunter2'));
  t.regex(message, /"mysql:\/\/\*\*\*@localhost\/telemetry"/);
});

test('displayDatabaseUrl masks the password and keeps the rest', (t) => {
  const show = (raw: string) => displayDatabaseUrl(parsed(raw));
  t.is(show('postgres://user:pw@host/db'), 'postgres://user:***@host/db');
  t.is(
    show('postgresql://telemetry:p%40ss:w@db.example:5433/t?sslmode=require'),
    'postgresql://telemetry:***@db.example:5433/t?sslmode=require',
  );
  t.is(show('postgres://user@host/db'), 'postgres://user@host/db');
  t.is(show('postgres://host/db'), 'postgres://host/db');
  t.is(show('sqlite:data/x.sqlite'), 'sqlite:data/x.sqlite');
});
