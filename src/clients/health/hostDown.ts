import { PipelineError } from '../../errors.js';

/** Why a host is taken for down. */
export type DownReason =
  /** Its last requests failed the transient way: network, deadline, 429, 5xx. */
  | { readonly kind: 'failing'; readonly failures: number; readonly error: string }
  /** It answered its last requests with one and the same 4xx: a setting is likely wrong. */
  | { readonly kind: 'refusing'; readonly status: number; readonly failures: number };

/** A request not made because its host is down; transient: it is for later. */
export class HostDown extends PipelineError {
  override readonly name = 'HostDown';
  constructor(
    readonly host: string,
    reason: DownReason | undefined,
  ) {
    const why =
      reason?.kind === 'refusing' ? `it answers every request with ${reason.status}` : 'failing';
    super(`${host} is down (${why}): not asked until it answers again`, 'transient');
  }
}
