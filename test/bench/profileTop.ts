/**
 * The top self-time entries of V8 CPU profiles (node --cpu-prof), grouped by function and
 * file; several profiles (one per run) are added together:
 *   npx tsx test/bench/profileTop.ts PROFILE.cpuprofile... [--top N]   (N: 25)
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

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt === -1 ? 25 : Number(args[topAt + 1]);
const files = args.filter((arg, i) => arg !== '--top' && i !== topAt + 1 && !arg.startsWith('--'));
if (files.length === 0 || !Number.isSafeInteger(top) || top < 1) {
  console.error('usage: npx tsx test/bench/profileTop.ts PROFILE.cpuprofile... [--top N]');
  process.exit(2);
}

const totals = new Map<string, number>();
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    // Paths from node_modules/ or dist/ on, so an entry reads the same on any machine.
    const where =
      url === '' ? '' : ` ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    totals.set(key, (totals.get(key) ?? 0) + profile.timeDeltas[i]! / 1000);
  });
}
const all = [...totals.values()].reduce((a, b) => a + b, 0);
console.log(`${all.toFixed(0)} ms sampled in ${files.length} profile(s)`);
for (const [key, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const share = ((ms / all) * 100).toFixed(1);
  console.log(`${ms.toFixed(0).padStart(6)} ms ${share.padStart(5)}%  ${key}`);
}
