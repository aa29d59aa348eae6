import { concatMap, type OperatorFunction } from 'rxjs';
import type { Sink } from '../sinks/sink.js';
import type { EncodedChangeset, Outcome } from './job.js';

export interface SendDeps {
  readonly sink: Sink;
}

/** Hands each ping to the sink chosen at the edge (telemetry, stdout or memory). */
export const send = ({ sink }: SendDeps): OperatorFunction<EncodedChangeset, Outcome> =>
  concatMap(async (work): Promise<Outcome> => {
    await sink.send(work.ping);
    return {
      status: 'sent',
      node: work.changeset.node,
      reviewSystem: work.reviewSystem,
      ping: work.ping,
    };
  });
