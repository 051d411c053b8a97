// Bytes allocated per function of a sampling heap profile (relay-alloc-profile.mjs), self and
// inclusive, as shares and per message: node scripts/alloc-profile-top.mjs FILE MESSAGES [N].
import { readFileSync } from 'node:fs';

const [file, messagesArg, nArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const messages = Number(messagesArg ?? 1);
const self = new Map();
const inclusive = new Map();
let total = 0;

function walk(node, stack) {
  const f = node.callFrame;
  const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  total += node.selfSize;
  self.set(key, (self.get(key) ?? 0) + node.selfSize);
  let sub = node.selfSize;
  for (const child of node.children ?? []) sub += walk(child, [...stack, key]);
  // A recursive frame counts once, at its outermost call.
  if (!stack.includes(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + sub);
  return sub;
}
walk(profile.head, []);

const top = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(nArg ?? 30))
    .map(
      ([k, v]) =>
        `${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / messages).toFixed(0).padStart(6)} B/msg  ${k}`,
    )
    .join('\n');
console.log(`${(total / 1e6).toFixed(1)} MB sampled, ${(total / messages / 1e3).toFixed(2)} KB per message`);
console.log(`--- self\n${top(self)}\n--- inclusive\n${top(inclusive)}`);
