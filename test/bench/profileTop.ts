/**
 * The top self-time entries of a V8 CPU profile (node --cpu-prof), grouped by function and
 * file:  npx tsx test/bench/profileTop.ts PROFILE.cpuprofile [N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const [file, count = '25'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: npx tsx test/bench/profileTop.ts PROFILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const msById = new Map<number, number>();
profile.samples.forEach((id, i) => {
  msById.set(id, (msById.get(id) ?? 0) + profile.timeDeltas[i]! / 1000);
});
const totals = new Map<string, number>();
for (const [id, ms] of msById) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  // Paths from node_modules/, dist/ or node: on, so an entry reads the same on any machine.
  const where =
    url === '' ? '' : ` ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
  const key = `${functionName || '(anonymous)'}${where}`;
  totals.set(key, (totals.get(key) ?? 0) + ms);
}
const all = [...totals.values()].reduce((a, b) => a + b, 0);
console.log(`${all.toFixed(0)} ms sampled`);
for (const [key, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
  const share = ((ms / all) * 100).toFixed(1);
  console.log(`${ms.toFixed(0).padStart(6)} ms ${share.padStart(5)}%  ${key}`);
}
