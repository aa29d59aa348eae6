/**
 * How quick this machine is today, for figures that depend on it: the time Node takes to start
 * and do nothing (`node -e 0`). The same code measured on two sessions' machines differed by
 * half again and more (docs/benchmarks.md); a benchmark that prints this beside its figures
 * lets a reader tell a change of code from a change of machine.
 */
import { spawnSync } from 'node:child_process';
import { median } from './benchStore.js';

/** The median wall time of `node -e 0`, in ms, over `runs` runs. */
export const nodeStartMs = (runs = 7): number => {
  const walls: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    walls.push(performance.now() - started);
  }
  return median(walls);
};
