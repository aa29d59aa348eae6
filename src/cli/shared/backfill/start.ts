/**
 * How both backfills start: their settings, their clients and store, and the watch that stops
 * a run whose host refuses every request or stays down past --max-wait.
 */
import * as t from 'io-ts';
import { StoreSettings, TelemetrySettings, UpstreamSettings } from '../../../codecs/settings.js';
import { GiveUpWatch } from '../giveUp.js';
import { oneShotClients } from '../outages.js';
import { settingsOrExit } from '../program.js';
import { openSinkAndLedger } from '../sinkAndLedger.js';
import { oneClaimPerProcess } from '../../../worker/processClaims.js';

export interface BackfillSettings {
  readonly upstream: UpstreamSettings;
  /** Set when the run sends (not --no-send): telemetry's and the store's settings too. */
  readonly telemetry: (UpstreamSettings & TelemetrySettings & StoreSettings) | undefined;
}

/** One read of every setting the run uses, so a single run names every one that is wrong. */
export const backfillSettings = (name: string, send: boolean): BackfillSettings => {
  const telemetry = send
    ? settingsOrExit(name, t.intersection([UpstreamSettings, TelemetrySettings, StoreSettings]))
    : undefined;
  return { telemetry, upstream: telemetry ?? settingsOrExit(name, UpstreamSettings) };
};

/**
 * The clients, whose hosts are waited for while down, up to --max-wait (shared/outages.ts);
 * then the sink and the store, opened before any request: a bad DATABASE_URL costs nothing.
 * A backfill waits for a changeset another process holds, and starts no watermark.
 */
export const openBackfill = async (
  name: string,
  { upstream, telemetry }: BackfillSettings,
  options: {
    readonly maxWait: number;
    readonly resend?: boolean | undefined;
    readonly resendBefore?: number | undefined;
  },
) => {
  const maxWaitMs = options.maxWait * 1000;
  const clients = oneShotClients(upstream, maxWaitMs);
  const { store, ...edge } = await openSinkAndLedger(name, clients.limits, telemetry, {
    whenHeld: 'await',
    startsWatermarks: false,
  });
  // --resend: what the store recorded before the run, by the store's clock (the database's
  // on PostgreSQL, which writes the ledger's times); the resume command passes it on. A
  // --resend-before TIME later than that is taken as the run's start: what this run sends
  // must not count as sent before it, or a landing listed twice, or a resumed run, would
  // send it again.
  const startedAt = store?.now() ?? Date.now();
  const asked = options.resendBefore ?? (options.resend === true ? startedAt : undefined);
  const resendBefore = asked === undefined ? undefined : Math.min(asked, startedAt);
  // A landing listed twice (in one push, or in two) must not be sent by both, as in the
  // worker (runJobs): the store gives a process its own live claim again.
  const ledger = oneClaimPerProcess(edge.ledger);
  return {
    ...clients,
    upstream,
    maxWaitMs,
    store,
    edge: { ...edge, ledger, policy: { ...edge.policy, resendSentBefore: resendBefore } },
    resendBefore,
    sendTo: telemetry?.TMO_BASE_URL,
  };
};

type OpenBackfill = Awaited<ReturnType<typeof openBackfill>>;

/**
 * Stops `parts` (the source, the outages' waits) when a host refuses every request, or is
 * down past --max-wait: no new job, nothing waits. The reason names the host's setting:
 * `source` is the host the jobs are read from, with its own.
 */
export const watchForGiveUp = (
  { outages, maxWaitMs, upstream, sendTo }: OpenBackfill,
  source: { readonly host: string; readonly setting: string },
  parts: readonly { stop(): void }[],
): GiveUpWatch => {
  const settingOf: Record<string, string> = {
    [source.host]: source.setting,
    [new URL(upstream.BMO_API_URL).host]: 'BMO_API_URL',
    ...(sendTo === undefined ? {} : { [new URL(sendTo).host]: 'TMO_BASE_URL' }),
  };
  return new GiveUpWatch(
    outages.hostsState,
    { maxWaitMs, settingFor: (host) => settingOf[host] ?? `the URL of ${host}` },
    () => parts.forEach((part) => part.stop()),
  );
};
