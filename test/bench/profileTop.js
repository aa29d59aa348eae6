// The top self-time entries of a V8 CPU profile (node --cpu-prof), grouped by function and
// file:  node test/bench/profileTop.js PROFILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

const [file, count = '25'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node test/bench/profileTop.js PROFILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const sampleMs = new Map();
for (let i = 0; i < profile.samples.length; i += 1) {
  const id = profile.samples[i];
  sampleMs.set(id, (sampleMs.get(id) ?? 0) + profile.timeDeltas[i] / 1000);
}
const totals = new Map();
for (const [id, ms] of sampleMs) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where =
    url === '' ? '' : ` ${url.replace(/^.*\/(node_modules|dist|node:)/, '$1')}:${lineNumber + 1}`;
  const key = `${functionName || '(anonymous)'}${where}`;
  totals.set(key, (totals.get(key) ?? 0) + ms);
}
const all = [...totals.values()].reduce((a, b) => a + b, 0);
console.log(`${all.toFixed(0)} ms sampled`);
for (const [key, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(count)))
  console.log(
    `${ms.toFixed(0).padStart(6)} ms ${((ms / all) * 100).toFixed(1).padStart(5)}%  ${key}`,
  );
