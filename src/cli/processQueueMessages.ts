#!/usr/bin/env node
import * as t from 'io-ts';
import { PulseSource } from '../../streams/pulse.js';
import { createClients } from '../clients/index.js';
import {
  GapFillSettings,
  MetricsSettings,
  PulseSettings,
  TelemetrySettings,
  StoreSettings,
  UpstreamSettings,
} from '../codecs/settings.js';
import { describeError } from '../errors.js';
import { configureLog, log } from '../log.js';
import { WorkerMetrics } from '../worker/metrics.js';
import { hostsUpCheck } from '../worker/pause.js';
import { gapFillConfig, Worker } from '../worker/worker.js';
import { closeStore, openSinkAndLedger } from './sinkAndLedger.js';
import { serveMetricsOrExit } from './serveMetricsOrExit.js';
import { runFailedQueueErrand, withFailedQueueOptions } from './failedQueue.js';
import { createProgram, EXIT, fail, intArgument, settingsOrExit, logLevelFor } from './program.js';
import { GAP_FILL_HELP, PULSE_HELP, TELEMETRY_HELP } from './settingsHelp.js';

const NAME = 'process-queue-messages';

/** All of them are checked at once, so one run names every variable that is wrong. */
const WorkerSettings = t.intersection([PulseSettings, UpstreamSettings, MetricsSettings]);
const Sending = t.intersection([WorkerSettings, TelemetrySettings, StoreSettings, GapFillSettings]);

interface Options {
  debug: boolean;
  send: boolean;
  timeout?: number;
  prefetch: number;
  replayFailed: boolean;
}

const command = createProgram(
  NAME,
  'Consume hgpush messages from Pulse and send a ping for every changeset of every push. ' +
    'Runs until SIGTERM or SIGINT, then finishes the messages in flight and exits 0.',
  `${TELEMETRY_HELP}${PULSE_HELP}${GAP_FILL_HELP}`,
)
  .option('--debug', 'log every request and decision to stderr')
  .option(
    '--no-send',
    'print pings on stdout and ack nothing: every message goes back to the queue',
  )
  .option(
    '--timeout <SECONDS>',
    'exit 0 once no message arrived for this long and none is in flight',
    intArgument('--timeout', 1),
  )
  .option(
    '--prefetch <N>',
    'messages taken from the broker ahead of processing',
    intArgument('--prefetch', 1, 10_000),
    32,
  );
const program = withFailedQueueOptions(command)
  .addHelpText(
    'after',
    '\nExit status: 0 stopped cleanly, or --list-failed or --drop-failed done; 1 could not connect,' +
      '\nset up or read a queue, open the store or serve metrics, --replay-failed parked a message' +
      '\nagain, or --drop-failed not confirmed; 2 usage or settings error.',
  )
  .parse();
const options = program.opts<Options>();
await runFailedQueueErrand(NAME, program.opts()); // --list-failed and --drop-failed exit there

// --no-send sends nothing, so it does not read (or fail over) the telemetry settings.
const sending = options.send ? settingsOrExit(NAME, Sending) : undefined;
const settings = sending ?? settingsOrExit(NAME, WorkerSettings);
configureLog({
  level: logLevelFor(options.debug, settings, 'info'),
  secrets: [settings.PULSE_PASSWORD],
});

const metrics = new WorkerMetrics();
let running: Worker | undefined = undefined; // /healthz says 503 until the worker exists
// Metrics first: a port in use must fail before anything is taken from the queue.
const healthy = () => running?.healthy() ?? false;
const metricsOut = await serveMetricsOrExit(NAME, metrics, settings, healthy);

const clients = createClients(settings);
const source = new PulseSource({
  settings,
  allowedHosts: settings.ALLOWED_HOSTS,
  prefetch: options.prefetch,
  queue: options.replayFailed ? 'failed' : 'main',
  hold: !options.send,
  ...(clients.health && { hostsUp: hostsUpCheck(clients.health) }),
});
const { store, ...edge } = await openSinkAndLedger(NAME, clients.limits, sending, {
  whenHeld: 'defer',
  resend: false,
  startsWatermarks: true,
});
const worker: Worker = new Worker({
  source,
  deps: { ...clients, ...edge },
  metrics,
  gapFill: gapFillConfig(sending, store, options.replayFailed),
  ...(options.timeout === undefined ? {} : { idleTimeoutMs: options.timeout * 1000 }),
});
running = worker;

if (!options.send) log.warn('--no-send: pings go to stdout; nothing is sent or acked');
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void worker.stop(signal));
await worker.start().catch((error: unknown) => {
  void metricsOut.close(); // not awaited: fail() exits at once
  const broker = `${settings.PULSE_HOST}:${settings.PULSE_PORT}`;
  const why = `or set up ${source.names.queue}: ${describeError(error)}`;
  fail(NAME, `cannot connect to Pulse at ${broker} ${why}`, EXIT.failed);
});
const stopped = await worker.stopped;
// Together: the Pushgateway's delete may take seconds, and the store releases our claims.
await Promise.all([metricsOut.close(), closeStore(store)]);
const parkedAgain = options.replayFailed && source.counters.parked > 0;
process.exit(stopped.failed || parkedAgain ? EXIT.failed : EXIT.ok);
