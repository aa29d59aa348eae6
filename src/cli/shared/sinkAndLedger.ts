import { createTelemetryClient } from '../../clients/index.js';
import type { HostLimits } from '../../clients/hostLimits.js';
import type { StoreSettings, TelemetrySettings } from '../../codecs/settings.js';
import { dryRun, type Ledger, type LedgerPolicy } from '../../pipeline/ledger.js';
import type { Sink } from '../../sinks/sink.js';
import { stdoutSink } from '../../sinks/stdout.js';
import { telemetrySink } from '../../sinks/telemetry.js';
import { log } from '../../log.js';
import type { Store } from '../../state/index.js';
import { within } from '../../worker/within.js';
import { openStoreOrExit } from './openStoreOrExit.js';

export interface SinkAndLedger {
  readonly sink: Sink;
  readonly ledger: Ledger;
  readonly policy: LedgerPolicy;
  /** Open while the command runs; close it before exiting. */
  readonly store: Store | undefined;
}

/**
 * The edge where a command decides whether it sends: with settings to send, pings go to
 * telemetry and the durable store keeps the ledger; without (--no-send), pings go to stdout
 * and the store is neither read nor written.
 */
export const openSinkAndLedger = async (
  name: string,
  limits: HostLimits,
  sending: (TelemetrySettings & StoreSettings) | undefined,
  policy: LedgerPolicy,
): Promise<SinkAndLedger> => {
  if (sending === undefined) return { sink: stdoutSink(), ...dryRun, store: undefined };
  const store = await openStoreOrExit(name, sending);
  const sink = telemetrySink(createTelemetryClient(limits, sending));
  return { sink, ledger: store, policy, store };
};

/**
 * Closes the store before the process exits, giving up after a few seconds: a database that
 * went away must not keep the process from exiting (its claims expire within a lease).
 */
export const closeStore = async (store: Store | undefined, waitMs = 5_000): Promise<void> => {
  if (store === undefined) return;
  const closed = store.close().catch((error: unknown) => log.error('closing the store', { error }));
  await within(waitMs, 'closing the store', closed);
};
