/**
 * `npm test`'s pretest check: RabbitMQ and PostgreSQL must answer on loopback, or a third of
 * the suite fails one test at a time, minutes later, with connection errors. This says at
 * once, one line per service, what to run. TEST_RABBITMQ_PORT and TEST_POSTGRES_PORT move the
 * check only (the tests' own addresses are fixed), so its message can be tried against a
 * closed port without stopping the services other runs depend on.
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface Service {
  readonly name: string;
  readonly port: number;
  /** Found on PATH when the service is installed. */
  readonly program: string;
  readonly start: string;
}

export const SERVICES = (env: NodeJS.ProcessEnv = process.env): Service[] => [
  {
    name: 'RabbitMQ',
    port: Number(env.TEST_RABBITMQ_PORT ?? 5672),
    program: 'rabbitmq-server',
    start: 'rabbitmq-server -detached',
  },
  {
    name: 'PostgreSQL',
    port: Number(env.TEST_POSTGRES_PORT ?? 5432),
    program: 'pg_ctlcluster',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
];

const answers = (port: number, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });

const installed = (program: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** One line for each service that does not answer, saying what to run; none when all do. */
export const servicesDown = async (services: Service[], timeoutMs = 2_000): Promise<string[]> => {
  const up = await Promise.all(services.map((service) => answers(service.port, timeoutMs)));
  return services
    .filter((_, i) => !up[i])
    .map(({ name, port, program, start }) =>
      installed(program)
        ? `${name} is not answering on 127.0.0.1:${port}; start it with: ${start}`
        : `${name} is not answering on 127.0.0.1:${port}, and ${program} is not on PATH: install ${name}`,
    );
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const down = await servicesDown(SERVICES());
  if (down.length > 0) {
    for (const line of down) console.error(line);
    console.error('(.ci/run starts both; `npm run test:unit` runs the tests that need neither.)');
    process.exit(1);
  }
}
