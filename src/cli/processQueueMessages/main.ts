#!/usr/bin/env node
import * as t from 'io-ts';
import { gapFillConfig, GapFillMetrics } from '../../../streams/gapFill/config.js';
import { GitGapFillSource } from '../../../streams/gapFill/git.js';
import { GapFillSource } from '../../../streams/gapFill/source.js';
import { pulseSettingsToCheck } from '../../../streams/pulse/connection/connectOptions.js';
import { PulseSource } from '../../../streams/pulse/source.js';
import { createClients } from '../../clients/index.js';
import {
  GapFillSettings,
  MetricsSettings,
  PulseSettings,
  TelemetrySettings,
  StoreSettings,
  UpstreamSettings,
} from '../../codecs/settings.js';
import { DEFAULT_GITHUB_BRANCHES } from '../../codecs/settings/github.js';
import { describeError } from '../../errors.js';
import { followsBranch } from '../../rules/gitRepository.js';
import { configureLog, log } from '../../log.js';
import { githubRateLimitGauge } from '../../clients/github/rateLimitGauge.js';
import { WorkerMetrics } from '../../worker/metrics.js';
import { hostsUpCheck } from '../../worker/pause.js';
import { Worker } from '../../worker/worker.js';
import { closeStore, openSinkAndLedger } from '../shared/sinkAndLedger.js';
import { serveMetricsOrExit } from './serveMetricsOrExit.js';
import { NAME, parseArguments } from './arguments.js';
import { runFailedQueueErrand } from './failedQueue.js';
import { EXIT, fail, settingsOrExit, logLevelFor } from '../shared/program.js';

/** All of them are checked at once, so one run names every variable that is wrong. */
const WorkerSettings = t.intersection([PulseSettings, UpstreamSettings, MetricsSettings]);
const Sending = t.intersection([WorkerSettings, TelemetrySettings, StoreSettings, GapFillSettings]);

const { options, all } = parseArguments();
await runFailedQueueErrand(NAME, all); // --list-failed and --drop-failed exit there

// --no-send sends nothing, so it does not read (or fail over) the telemetry settings.
const sending = options.send ? settingsOrExit(NAME, Sending) : undefined;
const settings = sending ?? settingsOrExit(NAME, WorkerSettings);
configureLog({
  level: logLevelFor(options.debug, settings, 'info'),
  secrets: [
    settings.PULSE_PASSWORD,
    ...(settings.GITHUB_TOKEN === undefined ? [] : [settings.GITHUB_TOKEN]),
  ],
});

const metrics = new WorkerMetrics();
let running: Worker | undefined = undefined; // /healthz says 503 until the worker exists
// Metrics first: a port in use must fail before anything is taken from the queue.
const healthy = () => running?.healthy() ?? false;
const metricsOut = await serveMetricsOrExit(NAME, metrics, settings, healthy);

const clients = createClients(settings);
// Decoding fills both; the defaults are for settings built by hand.
const github = {
  webUrl: settings.GITHUB_WEB_URL ?? 'https://github.com',
  branches: settings.GITHUB_BRANCHES ?? DEFAULT_GITHUB_BRANCHES,
};
const source = new PulseSource({
  settings,
  allowedHosts: settings.ALLOWED_HOSTS,
  prefetch: options.prefetch,
  queue: options.replayFailed ? 'failed' : 'main',
  hold: !options.send,
  github,
  ...(clients.health && { hostsUp: hostsUpCheck(clients.health) }),
});
const { store, ...edge } = await openSinkAndLedger(NAME, clients.limits, sending, {
  whenHeld: 'defer',
  startsWatermarks: true,
});
// Gap-fill, a source that polls the pushlogs of the repositories with a watermark.
const gapFill = gapFillConfig(sending, store, options.replayFailed);
const gapFillMetrics = { gapFill: new GapFillMetrics(metrics.registry), pings: metrics.pings };
githubRateLimitGauge(metrics.registry, clients.github);
const worker: Worker = new Worker({
  source,
  deps: { ...clients, git: clients.github, ...edge },
  metrics,
  ...(store && { parked: store }),
  polled:
    gapFill && store
      ? [
          new GapFillSource({ ...gapFill, hg: clients.hg, metrics: gapFillMetrics }),
          new GitGapFillSource({
            ...gapFill,
            store,
            github: clients.github,
            follows: (repository) => followsBranch(repository, github),
            metrics: gapFillMetrics,
          }),
        ]
      : [],
  ...(options.timeout === undefined ? {} : { idleTimeoutMs: options.timeout * 1000 }),
});
running = worker;

if (!options.send) log.warn('--no-send: pings go to stdout; nothing is sent or acked');
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => void worker.stop(signal));
await worker.start().catch((error: unknown) => {
  void metricsOut.close(); // not awaited: fail() exits at once
  const broker = `${settings.PULSE_HOST}:${settings.PULSE_PORT}`;
  const why = `or set up ${source.names.queue}: ${describeError(error)}`;
  const check = `check ${pulseSettingsToCheck(error).join(', ')}`;
  fail(NAME, `cannot connect to Pulse at ${broker} ${why}; ${check}`, EXIT.failed);
});
const stopped = await worker.stopped;
// Together: the Pushgateway's delete may take seconds, and the store releases our claims.
// Only now: `stopped` waited for the pings on the wire to reach the ledger (worker.ts).
await Promise.all([metricsOut.close(), closeStore(store)]);
const parkedAgain = options.replayFailed && source.counters.parked > 0;
process.exit(stopped.failed || parkedAgain ? EXIT.failed : EXIT.ok);
