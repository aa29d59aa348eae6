import { defer, of, type Observable } from 'rxjs';
import type { Job, JobOutcome } from '../src/pipeline/job.js';

/** `dump-telemetry`'s source: the one changeset named on the command line. */
export const changesetJobs = (
  repository: string,
  node: string,
  onSettle: (result: JobOutcome) => void = () => {},
): Observable<Job> =>
  defer(() =>
    of<Job>({
      label: `changeset ${node}`,
      input: { kind: 'changeset', repository, node },
      receivedAt: Date.now(),
      settle: onSettle,
    }),
  );
