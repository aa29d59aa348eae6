import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closedPort } from './support/standIns/pushgateway.js';
import { SERVICES, servicesDown } from './support/servicesUp.js';
import { ROOT } from './support/root.js';

const SCRIPT = join(ROOT, 'test/support/servicesUp.ts');

const listening = async (): Promise<{ server: Server; port: number }> => {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
};

test('services that answer: nothing to say', async (t) => {
  const { server, port } = await listening();
  t.teardown(() => server.close());
  const env = { TEST_RABBITMQ_PORT: String(port), TEST_POSTGRES_PORT: String(port) };
  t.deepEqual(await servicesDown(SERVICES(env)), []);
});

test('a service installed but not answering: one line naming it and the command that starts it', async (t) => {
  const { server, port } = await listening();
  t.teardown(() => server.close());
  const closed = String(await closedPort());
  const [line, ...more] = await servicesDown(
    SERVICES({ TEST_RABBITMQ_PORT: closed, TEST_POSTGRES_PORT: String(port) }).map((s) => ({
      ...s,
      program: 'node', // installed, whatever this machine has
    })),
  );
  t.deepEqual(more, []);
  t.is(
    line,
    `RabbitMQ is not answering on 127.0.0.1:${closed}; start it with: rabbitmq-server -detached`,
  );
});

test('a service not installed: says to install it', async (t) => {
  const closed = await closedPort();
  const [line] = await servicesDown([
    { name: 'PostgreSQL', port: closed, program: 'no-such-program-here', start: 'unused' },
  ]);
  t.is(
    line,
    `PostgreSQL is not answering on 127.0.0.1:${closed}, and no-such-program-here is not on PATH: install PostgreSQL`,
  );
});

test('run as the pretest: exits 1 with the start commands when neither answers', async (t) => {
  const [rabbit, postgres] = [String(await closedPort()), String(await closedPort())];
  // Both programs on PATH, as where the services are installed but stopped.
  const bin = mkdtempSync(join(tmpdir(), 'cts-services-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  for (const program of ['rabbitmq-server', 'pg_ctlcluster']) {
    writeFileSync(join(bin, program), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  }
  const error = await t.throwsAsync(
    promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT], {
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        TEST_RABBITMQ_PORT: rabbit,
        TEST_POSTGRES_PORT: postgres,
      },
    }),
  );
  const { code, stderr } = error as Error & { code: number; stderr: string };
  t.is(code, 1);
  t.regex(stderr, new RegExp(`RabbitMQ is not answering on 127.0.0.1:${rabbit}`));
  t.regex(stderr, new RegExp(`PostgreSQL is not answering on 127.0.0.1:${postgres}`));
  t.true(stderr.includes('start it with: rabbitmq-server -detached'), stderr);
  t.true(
    stderr.includes(
      'start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    ),
    stderr,
  );
});
