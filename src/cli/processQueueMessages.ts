#!/usr/bin/env node
import * as t from 'io-ts';
import { InvalidArgumentError } from 'commander';
import { tap } from 'rxjs';
import { PulseSource } from '../../streams/pulse.js';
import type { Verdict } from '../rules/pulse.js';
import { createClients, createTelemetryClient } from '../clients/index.js';
import {
  MetricsSettings,
  PulseSettings,
  TelemetrySettings,
  UpstreamSettings,
} from '../codecs/settings.js';
import { describeError } from '../errors.js';
import { configureLog, log } from '../log.js';
import { WorkerMetrics } from '../metrics.js';
import { failureLines, type JobOutcome } from '../pipeline/job.js';
import { pipeline } from '../pipeline/index.js';
import type { Sink } from '../sinks/sink.js';
import { stdoutSink } from '../sinks/stdout.js';
import { telemetrySink } from '../sinks/telemetry.js';
import { createProgram, EXIT, fail, settingsOrExit, TELEMETRY_HELP } from './program.js';

const NAME = 'process-queue-messages';
/** Heroku allows 30 s between SIGTERM and SIGKILL. */
const SHUTDOWN_GRACE_MS = 25_000;
const DEPTH_CHECK_MS = 60_000;
const DEPTH_WARNING = 1000;

const PULSE_HELP = `
  PULSE_USERNAME       Pulse user (required)
  PULSE_PASSWORD       Pulse password (required; never logged)
  PULSE_QUEUE_NAME     queue name; the queue is queue/<user>/<name> (required)
  PULSE_QUEUE_ROUTING_KEY  repositories to follow, e.g. integration/autoland or # (required)
  PULSE_EXCHANGE       exchange to bind to (default exchange/hgpushes/v2)
  PULSE_HOST           broker (default pulse.mozilla.org)
  PULSE_PORT           port (default 5671)
  PULSE_SSL            TLS (default true)
  PULSE_VHOST          virtual host (default /)
  METRICS_PORT, PORT   serve /metrics and /healthz on this port (METRICS_PORT wins)`;

/** All of them are checked at once, so one run names every variable that is wrong. */
const WorkerSettings = t.intersection([PulseSettings, UpstreamSettings, MetricsSettings]);
const SendingWorkerSettings = t.intersection([WorkerSettings, TelemetrySettings]);

const positive = (what: string) => (value: string) => {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && Number.isSafeInteger(n))) {
    throw new InvalidArgumentError(`${what} is a positive integer.`);
  }
  return n;
};

interface Options {
  debug: boolean;
  send: boolean;
  timeout?: number;
  prefetch: number;
  replayFailed: boolean;
}

/** One line per message: which push, how many changesets, which review systems, how long. */
const describeResult = (result: JobOutcome, verdict: Verdict) => {
  const systems: Record<string, number> = {};
  for (const outcome of result.outcomes) {
    if (outcome.status === 'sent') {
      systems[outcome.reviewSystem] = (systems[outcome.reviewSystem] ?? 0) + 1;
    }
  }
  const failures = failureLines(result, 'message');
  const skipped = result.outcomes.find((o) => o.status === 'skipped');
  const push = result.push === undefined ? '' : ` push ${result.push.pushId}`;
  return {
    message: `${result.job.label}${push}: ${verdict}`,
    verdict,
    repository: result.push?.repository,
    pushId: result.push?.pushId,
    changesets: result.outcomes.filter((o) => o.status !== 'skipped').length,
    reviewSystems: systems,
    ...(skipped?.status === 'skipped' ? { skipped: skipped.reason } : {}),
    ...(failures.length > 0 ? { failures } : {}),
    durationMs: Date.now() - result.job.receivedAt,
  };
};

const main = async (): Promise<void> => {
  const program = createProgram(
    NAME,
    'Consume hgpush messages from Pulse and send a ping for every changeset of every push. ' +
      'Runs until SIGTERM or SIGINT, then finishes the messages in flight and exits 0.',
    `${TELEMETRY_HELP}${PULSE_HELP}`,
  )
    .option('--debug', 'log every request and decision to stderr')
    .option(
      '--no-send',
      'print pings on stdout and ack nothing: every message goes back to the queue',
    )
    .option(
      '--timeout <SECONDS>',
      'exit 0 once no message arrived for this long and none is in flight',
      positive('--timeout'),
    )
    .option(
      '--prefetch <N>',
      'messages taken from the broker ahead of processing',
      positive('--prefetch'),
      32,
    )
    .option(
      '--replay-failed',
      'run the parked messages (queue/<user>/<name>.failed) again; remove those that succeed, then exit',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 stopped cleanly, 1 could not connect or set up the queue, 2 usage or settings error.',
    )
    .parse();
  const options = program.opts<Options>();

  // --no-send sends nothing, so it does not read (or fail over) the telemetry settings.
  const sending = options.send ? settingsOrExit(NAME, SendingWorkerSettings) : undefined;
  const settings = sending ?? settingsOrExit(NAME, WorkerSettings);
  configureLog({
    level: options.debug || settings.DEBUG ? 'debug' : 'info',
    secrets: [settings.PULSE_PASSWORD],
  });

  const metrics = new WorkerMetrics();
  const source = new PulseSource({
    settings,
    prefetch: options.prefetch,
    queue: options.replayFailed ? 'failed' : 'main',
    hold: !options.send,
    onSettled: (result, verdict) => {
      metrics.messages.inc({
        event:
          verdict === 'ack'
            ? 'acked'
            : verdict === 'park'
              ? 'parked'
              : verdict === 'requeue'
                ? 'requeued'
                : 'held',
      });
      metrics.recordJob(result);
      const line = describeResult(result, verdict);
      if (verdict === 'park' || verdict === 'requeue') log.warn(line);
      else log.info(line);
    },
  });
  try {
    await source.ready();
  } catch (error) {
    await source.stop(0);
    fail(
      NAME,
      `cannot connect to Pulse at ${settings.PULSE_HOST}:${settings.PULSE_PORT} or set up ${source.names.queue}: ${describeError(error)}`,
      EXIT.failed,
    );
  }
  if (options.replayFailed) {
    log.info(`${source.replayCount} parked messages to replay from ${source.names.failedQueue}`);
  }

  const port = settings.METRICS_PORT ?? settings.PORT;
  const server = port === undefined ? undefined : await metrics.serve(port, () => source.healthy());

  const { limits, hg, bugzilla } = createClients(settings);
  const sink: Sink =
    sending === undefined ? stdoutSink() : telemetrySink(createTelemetryClient(limits, sending));

  let stopping = false;
  const shutdown = (why: string, code: number = EXIT.ok) => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: stopping; letting messages in flight finish`);
    source
      .stop(SHUTDOWN_GRACE_MS)
      .catch((error: unknown) => log.error(`closing the Pulse connection: ${describeError(error)}`))
      .finally(() => {
        clearInterval(watch);
        server?.close();
        log.info({ message: 'stopped', ...source.counters });
        process.exit(code);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  let lastDepthCheck = 0;
  const watch = setInterval(() => {
    metrics.inFlight.set(source.inFlight);
    const idle = source.inFlight === 0;
    if (options.replayFailed && idle && source.counters.received >= (source.replayCount ?? 0)) {
      shutdown('every parked message was replayed');
    } else if (
      options.timeout !== undefined &&
      idle &&
      Date.now() - source.lastDeliveryAt > options.timeout * 1000
    ) {
      shutdown(`no message for ${options.timeout} s`);
    }
    if (Date.now() - lastDepthCheck >= DEPTH_CHECK_MS) {
      lastDepthCheck = Date.now();
      void source.depth().then((depth) => {
        if (depth === undefined) return;
        metrics.queueDepth.set(depth);
        if (depth > DEPTH_WARNING) {
          log.warn(
            `${depth} messages wait in ${source.names.queue}; Pulse deletes queues near 8,000`,
          );
        } else {
          log.info(`${depth} messages wait in ${source.names.queue}`);
        }
      });
    }
  }, 200);

  log.info(
    `consuming ${options.replayFailed ? source.names.failedQueue : source.names.queue}${options.send ? '' : ' (--no-send: nothing is sent or acked)'}`,
  );
  const jobs = source.jobs.pipe(tap(() => metrics.messages.inc({ event: 'received' })));
  pipeline({ hg, bugzilla, sink })(jobs).subscribe({
    error: (error: unknown) => {
      log.error(`the pipeline stopped: ${describeError(error)}`);
      shutdown('pipeline error', EXIT.failed);
    },
  });
};

await main();
