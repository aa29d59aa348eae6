import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { from, type Observable } from 'rxjs';
import type { Job, JobOutcome } from '../src/pipeline/job.js';

/** Reads a recorded message stream: NDJSON, one Pulse message body a line. */
async function* messageBodies(path: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() !== '') yield line;
  }
}

/**
 * Replays a recorded Pulse stream: each line becomes a job exactly as a delivery from the
 * queue would, settled through `onSettle` instead of an ack.
 */
export const replayJobs = (
  path: string,
  onSettle: (result: JobOutcome) => void = () => {},
): Observable<Job> => {
  let count = 0;
  return from(
    (async function* () {
      for await (const body of messageBodies(path)) {
        count += 1;
        const job: Job = {
          label: `replayed message ${count}`,
          input: { kind: 'message', body },
          receivedAt: Date.now(),
          settle: onSettle,
        };
        yield job;
      }
    })(),
  );
};
