import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import type { PulseNames } from '../../streams/pulse/connection/names.js';

const run = promisify(execFile);
/**
 * Each call starts an Erlang VM: about a second of CPU, a quarter of the whole suite's CPU
 * when it was called 100 times a run. So a user and its permissions are added in one call.
 */
const rabbitmqctl = (...args: string[]) => run('rabbitmqctl', ['-q', ...args]);

/** Users and permissions (RabbitMQ's definitions format), added in one rabbitmqctl call. */
const importDefinitions = (definitions: object): Promise<void> =>
  new Promise((resolve, reject) => {
    // Read from stdin when no file is named.
    const child = execFile('rabbitmqctl', ['-q', 'import_definitions'], (error) =>
      error === null ? resolve() : reject(error),
    );
    // Should it exit before reading, its exit code fails the call; the pipe's error is moot.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(JSON.stringify(definitions));
  });

/**
 * A password as RabbitMQ stores it by default (rabbit_password_hashing_sha256): a 4-byte
 * salt, then the SHA-256 of the salt and the password, in base64.
 */
const passwordHash = (password: string): string => {
  const salt = randomBytes(4);
  const digest = createHash('sha256').update(salt).update(password).digest();
  return Buffer.concat([salt, digest]).toString('base64');
};

export const BROKER = { host: '127.0.0.1', port: 5672 };
/**
 * hg.mozilla.org's exchange as the tests stand it in: one of this test process's own, never
 * the shared `exchange/hgpushes/v2`, so nothing is published where another consumer listens.
 * Declared by `Admin.connect`, deleted by `Admin.close`; the users' environment names it.
 */
export const HGPUSH_EXCHANGE = `exchange/ctstest-${randomBytes(4).toString('hex')}/hgpushes`;
const ADMIN_URL = `amqp://guest:guest@${BROKER.host}:${BROKER.port}`;

/**
 * A RabbitMQ user limited the way Pulse limits users: configure and write only its own
 * `queue/<user>/...` and `exchange/<user>/...`, read those and any `exchange/...`.
 */
export interface PulseUser {
  readonly username: string;
  readonly password: string;
  /** The worker's environment for this user and a fresh queue name. */
  env(queueName: string, routingKey?: string): Record<string, string>;
  /** Closes every connection of this user, as a broker restart or network cut would. */
  killConnections(): Promise<void>;
  remove(): Promise<void>;
}

export const createPulseUser = async (): Promise<PulseUser> => {
  const username = `ctstest${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const own = `^(queue/${username}/.*|exchange/${username}/.*)`;
  await importDefinitions({
    users: [
      {
        name: username,
        password_hash: passwordHash(password),
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: [],
      },
    ],
    permissions: [
      {
        user: username,
        vhost: '/',
        configure: own,
        write: own,
        read: `^(queue/${username}/.*|exchange/.*)`,
      },
    ],
  });
  return {
    username,
    password,
    env: (queueName, routingKey = 'integration/autoland') => ({
      PULSE_USERNAME: username,
      PULSE_PASSWORD: password,
      PULSE_QUEUE_NAME: queueName,
      PULSE_QUEUE_ROUTING_KEY: routingKey,
      PULSE_HOST: BROKER.host,
      PULSE_PORT: String(BROKER.port),
      PULSE_SSL: 'false',
      PULSE_VHOST: '/',
      PULSE_EXCHANGE: HGPUSH_EXCHANGE,
    }),
    killConnections: async () => {
      await rabbitmqctl('close_all_user_connections', username, 'test kills the connection');
    },
    remove: async () => {
      await rabbitmqctl('delete_user', username).catch(() => undefined);
    },
  };
};

/** The broker as hg.mozilla.org sees it: owner of the hgpush exchange, publisher of pushes. */
export class Admin {
  private constructor(
    private readonly connection: amqplib.ChannelModel,
    private readonly channel: amqplib.ConfirmChannel,
  ) {}

  static async connect(): Promise<Admin> {
    const connection = await amqplib.connect(ADMIN_URL);
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(HGPUSH_EXCHANGE, 'topic', { durable: true });
    return new Admin(connection, channel);
  }

  async publish(
    routingKey: string,
    body: string | Buffer,
    exchange = HGPUSH_EXCHANGE,
  ): Promise<void> {
    this.channel.publish(exchange, routingKey, Buffer.from(body), {
      persistent: true,
      contentType: 'application/json',
    });
    await this.channel.waitForConfirms();
  }

  /** Messages ready in a queue (not counting those delivered and unacked). */
  async depth(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /**
   * The broker's answer for a queue, or undefined when it is missing; asked on a channel of
   * its own, since a miss closes the channel.
   */
  private async checkQueue(queue: string): Promise<amqplib.Replies.AssertQueue | undefined> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => undefined);
    try {
      const answer = await channel.checkQueue(queue);
      await channel.close();
      return answer;
    } catch {
      return undefined;
    }
  }

  /** Whether a queue exists. */
  async queueExists(queue: string): Promise<boolean> {
    return (await this.checkQueue(queue)) !== undefined;
  }

  /** How many consumers a queue has: 0 when it is missing. */
  async consumers(queue: string): Promise<number> {
    return (await this.checkQueue(queue))?.consumerCount ?? 0;
  }

  /** Takes every ready message off a queue, acking it. */
  async drain(queue: string): Promise<amqplib.GetMessage[]> {
    const taken: amqplib.GetMessage[] = [];
    for (;;) {
      const message = await this.channel.get(queue, { noAck: true });
      if (message === false) return taken;
      taken.push(message);
    }
  }

  /** Deletes the queues and, for a parked-messages queue, the worker's exchange feeding it. */
  async deleteQueues(...queues: string[]): Promise<void> {
    for (const queue of queues) {
      await this.channel.deleteQueue(queue).catch(() => undefined);
      if (queue.startsWith('queue/') && queue.endsWith('.failed')) {
        const exchange = `exchange/${queue.slice('queue/'.length)}`;
        await this.channel.deleteExchange(exchange).catch(() => undefined);
      }
    }
  }

  /**
   * Every queue and exchange a worker declares under `names` (main, failed and delay queues;
   * failed, delay and retry exchanges), removed: a test's clean-up, asking the broker for
   * nothing else (no rabbitmqctl, which costs about a second of CPU a call).
   */
  async removeWorkerObjects(...all: readonly PulseNames[]): Promise<void> {
    for (const names of all) {
      await this.deleteQueues(
        names.queue,
        names.failedQueue,
        ...names.retrySteps.map((step) => step.queue),
      );
      await this.deleteExchanges(names.failedExchange, names.delayExchange, names.retryExchange);
    }
  }

  async deleteExchanges(...exchanges: string[]): Promise<void> {
    for (const exchange of exchanges) {
      await this.channel.deleteExchange(exchange).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.channel.deleteExchange(HGPUSH_EXCHANGE).catch(() => undefined);
    await this.connection.close();
  }
}

/**
 * Messages in a queue as the broker counts them: ready, and delivered but not yet acked
 * (which `Admin.depth` does not see). Asks rabbitmqctl, so it takes a moment.
 */
export const queueCounts = async (queue: string): Promise<{ ready: number; unacked: number }> => {
  const { stdout } = await rabbitmqctl(
    'list_queues',
    '-p',
    '/',
    'name',
    'messages_ready',
    'messages_unacknowledged',
  );
  for (const line of stdout.split('\n')) {
    const [name, ready, unacked] = line.split('\t');
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
  }
  throw new Error(`the broker has no queue ${queue}`);
};

/**
 * Every queue and exchange named after a user (`queue/<user>/...`, `exchange/<user>/...`),
 * whichever the worker declared (main, failed, delay queues...): for a test's clean-up.
 */
export const brokerObjectsOf = async (
  username: string,
): Promise<{ queues: string[]; exchanges: string[] }> => {
  // Two calls: export_definitions would list both in one, but while other test files
  // declare and delete their queues it now and then printed an error term instead of JSON.
  const names = async (what: 'list_queues' | 'list_exchanges', prefix: string) =>
    (await rabbitmqctl(what, '-p', '/', 'name')).stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((name) => name.startsWith(prefix));
  return {
    queues: await names('list_queues', `queue/${username}/`),
    exchanges: await names('list_exchanges', `exchange/${username}/`),
  };
};

/**
 * What a test's broker set-up leaves behind, removed: every queue and exchange under the
 * user's names (a worker's main, failed and delay queues and their exchanges) and the `extra`
 * ones named, then the admin connection and the user. Either may be missing, after a `before`
 * that failed half-way.
 */
export const removeTestBroker = async (
  admin: Admin | undefined,
  user: PulseUser | undefined,
  extra: { readonly queues?: readonly string[]; readonly exchanges?: readonly string[] } = {},
): Promise<void> => {
  if (admin !== undefined && user !== undefined) {
    const { queues, exchanges } = await brokerObjectsOf(user.username);
    await admin.deleteQueues(...(extra.queues ?? []), ...queues);
    await admin.deleteExchanges(...exchanges, ...(extra.exchanges ?? []));
  }
  await admin?.close();
  await user?.remove();
};
