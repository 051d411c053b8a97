// node scripts/relay-stall-probe.mjs [K] [reps] — microbenchmark: how long one log-integration pass and one search-index pass block the
// event loop when they take K relay receipts (K = 250 ms of relay traffic at a rate).
// Min and median over repetitions (the min ≈ the idle machine's cost under load).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createLogger,
  loadOrCreateLogSigningKey,
  LogIntegrator,
  openStore,
  SearchIndexer,
  sequenceEntries,
} from '@custos/server';
import { encodeLogEntry } from '@custos/core';

const K = Number(process.argv[2] ?? 1250);
const REPS = Number(process.argv[3] ?? 12);
const dir = mkdtempSync(join(tmpdir(), 'custos-stall-'));
const stores = await openStore({ kind: 'sqlite', path: join(dir, 'custos.sqlite') });
const { key } = loadOrCreateLogSigningKey(join(dir, 'log.key'));
const logger = createLogger('error', () => undefined);
const integrator = new LogIntegrator({ stores, key, host: () => '127.0.0.1', logger });
const indexer = new SearchIndexer({ stores, logger });
const org = randomBytes(16).toString('base64url');
const now = Date.now();
await stores.withTransaction(async (tx) => {
  await tx.orgs.create({
    orgId: org,
    name: 'x',
    signingPublicKey: randomBytes(32),
    signingKeyFingerprint: randomBytes(32).toString('base64url'),
    rootArchivePublicKey: randomBytes(32),
    keyManager: { delegation: randomBytes(64), notBefore: 0, notAfter: now + 3_600_000 },
    officerQuorum: 1,
    officers: [{ index: 0, publicKey: randomBytes(32) }],
    createdAt: now,
  });
});
const dev = () => randomBytes(16).toString('base64url');
const receipt = () => {
  const s = dev();
  return encodeLogEntry({
    type: 'relay-receipt',
    hash: randomBytes(32),
    size: 160,
    actor: s,
    sender: s,
    recipient: dev(),
    time: now,
  });
};
const ti = [],
  tx = [];
for (let r = 0; r < REPS + 2; r++) {
  for (let b = 0; b < K; b += 50) {
    const entries = Array.from({ length: Math.min(50, K - b) }, receipt);
    await stores.withTransaction((t) => sequenceEntries(t, org, entries));
  }
  let t0 = performance.now();
  const o = await integrator.integrateOrg(org);
  const a = performance.now() - t0;
  t0 = performance.now();
  await indexer.indexOrg(org);
  const c = performance.now() - t0;
  if (r >= 2) {
    ti.push(a);
    tx.push(c);
  }
  if (o === null || o.toSize - o.fromSize !== K) throw new Error('unexpected pass ' + JSON.stringify(o));
}
const q = (xs, p) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) * p)].toFixed(2);
console.log(
  `K=${K}: integrate min ${q(ti, 0)} ms, median ${q(ti, 0.5)}; index pass min ${q(tx, 0)} ms, median ${q(tx, 0.5)}`,
);
const keep = setInterval(() => undefined, 1000);
await stores.close();
clearInterval(keep);
rmSync(dir, { recursive: true, force: true });
