/**
 * The time the processes of a fleet agree on: their database's. Claims and leases run out at
 * times that processes on several hosts write and compare; read off each host's own clock,
 * a host running a lease ahead would take over the claims of a live owner that is sending
 * them, and both would send. So on PostgreSQL the store reads the host's clock corrected by
 * its offset from the database's, measured when the store opens and at every renewal of its
 * claims. The processes on one SQLite file share a host, and its clock.
 */
import type { Connection } from './connection.js';

const MAX_ROUND_TRIP_MS = 1_000;

export class DatabaseClock {
  #offsetMs = 0;
  #measured = false;

  constructor(
    private readonly conn: Connection,
    private readonly hostNow: () => number = Date.now,
  ) {}

  /** The database's time, in epoch milliseconds, as of the last measure. */
  readonly now = (): number => this.hostNow() + this.#offsetMs;

  /**
   * Measures the offset again: the database's time against the middle of the round trip. A
   * round trip longer than a second (a busy pool: the wait for a connection counts in it) is
   * too uncertain, and the offset measured before is kept; the first is always taken.
   */
  async measure(): Promise<void> {
    const sent = this.hostNow();
    const [row] = await this.conn.query({
      text: 'select cast(extract(epoch from clock_timestamp()) * 1000 as bigint) as now',
      values: [],
    });
    const received = this.hostNow();
    if (this.#measured && received - sent > MAX_ROUND_TRIP_MS) return;
    this.#offsetMs = Math.round(Number(row?.now) - (sent + received) / 2);
    this.#measured = true;
  }
}

/**
 * The connection's database clock, measured once: on PostgreSQL, for the store and for
 * telemetry-status alike; undefined on SQLite. A measure that fails closes the connection,
 * which its caller then never gets.
 */
export const databaseClockOf = async (
  conn: Connection,
  hostNow: () => number = Date.now,
): Promise<DatabaseClock | undefined> => {
  if (conn.engine !== 'postgres') return undefined;
  const clock = new DatabaseClock(conn, hostNow);
  try {
    await clock.measure();
  } catch (error) {
    await conn.close();
    throw error;
  }
  return clock;
};
