import type { OperatorFunction } from 'rxjs';
import type { Sink } from '../sinks/sink.js';
import type { PingWork } from './job.js';
import { conclude, type Step } from './step.js';

export interface SendDeps {
  readonly sink: Sink;
}

/** Hands each ping to the sink chosen at the edge (telemetry, stdout or memory). */
export const send = ({ sink }: SendDeps): OperatorFunction<Step<PingWork>, Step<never>> =>
  conclude(
    async (work) => {
      await sink.send(work.ping);
      return {
        status: 'sent',
        node: work.changeset.node,
        reviewSystem: work.reviewSystem,
        ping: work.ping,
      };
    },
    (work) => work.changeset.node,
  );
