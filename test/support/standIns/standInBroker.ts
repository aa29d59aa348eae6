/** Shared by the stand-in (test/support/standIn.ts) and its test. */

/**
 * Every queue and exchange a value names, e.g. the worker's names for its queue
 * (`pulseNames()`: the queue, the parked queue and exchange, the retry exchanges and delay
 * queues, and whatever it names next), found by walking the value, so a clean-up that
 * deletes them all leaves nothing the worker declared.
 */
export const brokerEntities = (names: unknown): { queues: string[]; exchanges: string[] } => {
  const queues = new Set<string>();
  const exchanges = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.startsWith('queue/')) queues.add(value);
      else if (value.startsWith('exchange/')) exchanges.add(value);
    } else if (typeof value === 'object' && value !== null) {
      for (const inner of Object.values(value)) walk(inner);
    }
  };
  walk(names);
  return { queues: [...queues], exchanges: [...exchanges] };
};
