// Self time per function (and url) of a .cpuprofile, as shares of non-idle time.
import { readFileSync } from 'node:fs';
const [file, nArg] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
let busy = 0;
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]);
  const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
  const f = n.callFrame;
  if (f.functionName === '(idle)') continue;
  busy += dt;
  const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + dt);
}
console.log(`busy ${(busy / 1000).toFixed(1)} s`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 40)))
  console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
