/**
 * Disposition (issue 5 target): one expired bucket of 1,000,000 archive records (about
 * 1 KiB each, with their indexed-record rows and realistic posting rows: one block per
 * 20,000 records, 2,000 tokens per block, each token on 1–200 records), beside a smaller
 * bucket that stays, seeded straight into a fresh SQLite store through the real stores. A
 * sample times the whole execution of an approved plan: posting rows rewritten or
 * deleted, records and index rows deleted in steps of 50,000, keys destroyed, certificate.
 *
 * Baseline (same run): a bare `DELETE FROM archive_records` of the same bucket's rows on an
 * identically seeded store. Each sample seeds a new store (the work destroys its input).
 * CUSTOS_DISPOSITION_BENCH_N sets the record count, CUSTOS_DISPOSITION_BENCH_SAMPLES the samples.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { encodeDeterministicCbor } from '@custos/core';
import {
  executePlan,
  makePlan,
  openStore,
  pendingTableAuditSink,
  type DeviceId,
  type OrgId,
  type StoreBackend,
} from '@custos/server';
import type { BenchCase } from '../harness.js';

const RECORDS = Number(process.env.CUSTOS_DISPOSITION_BENCH_N ?? 1_000_000);
const SAMPLES = Number(process.env.CUSTOS_DISPOSITION_BENCH_SAMPLES ?? 1);
/** Records of the bucket that stays, interleaved (1 in 4 log entries). */
const OTHER_EVERY = 4;
const RECORD_BYTES = 1_100;
const RECORDS_PER_TX = 10_000;
const BLOCK = 20_000;
const TOKENS_PER_BLOCK = 2_000;
const DEVICES = 100;
const OLD = 'transitory-2020-01';
const KEEP = 'permanent-2020-01';
const BY = 'bench-device-000000000000' as DeviceId;
const AS_OF = Date.UTC(2030, 0, 1);

interface Seeded {
  readonly dir: string;
  readonly stores: StoreBackend;
  readonly orgId: OrgId;
}

/** One LEB128 varint list of ascending ids relative to `base` (posting-codec.ts format). */
function postingIds(ids: readonly number[], base: number): Buffer {
  const out: number[] = [];
  let prev = base;
  for (const id of ids) {
    let gap = id - prev;
    while (gap >= 0x80) {
      out.push((gap % 0x80) | 0x80);
      gap = Math.floor(gap / 0x80);
    }
    out.push(gap);
    prev = id;
  }
  return Buffer.from(out);
}

/** The seeded database, built once per process and copied for each sample. */
let template: string | undefined;

/** A fresh copy of the seeded store. */
async function seed(): Promise<Seeded> {
  template ??= await build();
  const dir = mkdtempSync(join(tmpdir(), 'custos-dispose-'));
  copyFileSync(join(template, 'custos.db'), join(dir, 'custos.db'));
  const stores = await openStore({ kind: 'sqlite', path: join(dir, 'custos.db') });
  return { dir, stores, orgId: ORG };
}

const ORG = 'bench-org-0000000000000000' as OrgId;

/** Seeds the template store; resolves to its folder (the database is checkpointed and closed). */
async function build(): Promise<string> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'custos-dispose-template-'));
  const stores = await openStore({ kind: 'sqlite', path: join(dir, 'custos.db') });
  const orgId = ORG;
  await stores.orgs.create({
    orgId,
    name: 'Disposition Bench',
    signingPublicKey: Buffer.alloc(32, 1),
    signingKeyFingerprint: 'fp',
    rootArchivePublicKey: Buffer.alloc(32, 2),
    keyManager: { delegation: Buffer.alloc(8), notBefore: 0, notAfter: 1 },
    officerQuorum: 1,
    officers: [{ index: 0, publicKey: Buffer.alloc(32, 3) }],
    createdAt: 0,
  });
  for (const [bucketId, retentionClass] of [
    [OLD, 'transitory'],
    [KEEP, 'permanent'],
  ] as const) {
    await stores.buckets.create(orgId, {
      bucketId,
      retentionClass,
      period: '2020-01',
      notBefore: Date.UTC(2020, 0, 1),
      notAfter: Date.UTC(2020, 1, 1) - 1,
      publicKey: Buffer.alloc(32, 4),
      document: Buffer.alloc(200, 5),
      registeredBy: BY,
      registeredAt: 0,
      logIndex: 0,
    });
    await stores.buckets.putBlob(orgId, 'officer-wrap', {
      bucketId,
      recipient: 'root',
      blob: Buffer.alloc(200, 6),
      createdBy: BY,
      createdAt: 0,
      logIndex: 0,
    });
  }
  const body = randomBytes(RECORD_BYTES);
  const devices = Array.from(
    { length: DEVICES },
    (_, i) => `bench-dev-${String(i).padStart(16, '0')}` as DeviceId,
  );
  const seqs = new Map<string, number>();
  const oldIds: number[] = [];
  for (let start = 0; start < total(); start += RECORDS_PER_TX) {
    await stores.withTransaction(async (tx) => {
      const rows = [];
      const indexed = [];
      for (let logIndex = start; logIndex < Math.min(total(), start + RECORDS_PER_TX); logIndex++) {
        const bucketId = logIndex % OTHER_EVERY === OTHER_EVERY - 1 ? KEEP : OLD;
        if (bucketId === OLD) oldIds.push(logIndex);
        const deviceId = devices[logIndex % DEVICES]!;
        const key = `${bucketId}/${deviceId}`;
        const seq = seqs.get(key) ?? 0;
        seqs.set(key, seq + 1);
        const hash = randomBytes(32);
        const bytes = Buffer.concat([hash, body]);
        rows.push({
          deviceId,
          seq: seq + (bucketId === KEEP ? 1e9 : 0),
          hash,
          bucketId,
          logIndex,
          receivedAt: 1000,
          bytes,
        });
        indexed.push({ logIndex, deviceId, seq: seq + (bucketId === KEEP ? 1e9 : 0), bucketId });
      }
      await tx.archive.insert(orgId, rows);
      await tx.search.putIndexed(orgId, indexed);
    });
  }
  // Posting rows: per block of the old bucket's records, tokens on a Zipf-like spread of records.
  for (let b = 0; b < oldIds.length; b += BLOCK) {
    const ids = oldIds.slice(b, b + BLOCK);
    const base = ids[0]!;
    const rows: { token: Buffer; block: number; n: number; ids: Buffer }[] = [];
    for (let t = 0; t < TOKENS_PER_BLOCK; t++) {
      const n = Math.max(1, Math.floor(200 / (t + 1)));
      const step = Math.max(1, Math.floor(ids.length / n));
      const picked = ids.filter((_, i) => i % step === t % step).slice(0, n);
      rows.push({ token: randomBytes(16), block: base, n: picked.length, ids: postingIds(picked, base) });
    }
    await stores.withTransaction((tx) => tx.search.putPostings(orgId, rows));
  }
  const wrapped = Buffer.from(encodeDeterministicCbor({ v: 1, bkt: OLD, dev: devices[0], org: orgId }));
  await stores.archive.putSessionKeys(orgId, [
    { keyId: randomBytes(32), deviceId: devices[0]!, wrapped, receivedAt: 0 },
  ]);
  await stores.close();
  process.stderr.write(
    `disposition bench: seeded ${total().toLocaleString('en')} records in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  return dir;
}

async function done(s: Seeded): Promise<void> {
  await s.stores.close();
  rmSync(s.dir, { recursive: true, force: true });
}

/** Seconds to execute the approved plan of the seeded store. */
async function dispose(): Promise<number> {
  const s = await seed();
  try {
    const { plan } = await makePlan(s.stores, pendingTableAuditSink, s.orgId, AS_OF, BY, AS_OF);
    await s.stores.disposition.putApproval(s.orgId, plan.planId, {
      officerIndex: 0,
      signature: Buffer.alloc(64, 9),
      deviceId: BY,
      at: AS_OF,
    });
    const start = performance.now();
    let last = start;
    const p = await executePlan(
      { stores: s.stores, audit: pendingTableAuditSink, clock: () => AS_OF },
      s.orgId,
      plan.planId,
      BY,
      {
        afterStep: (_b, pr) => {
          if (process.env.CUSTOS_DISPOSITION_BENCH_TRACE === undefined) return;
          const now = performance.now();
          process.stderr.write(
            `  step ${pr.step} cursor ${pr.cursor} disposed ${pr.disposed}: ${(now - last).toFixed(0)} ms\n`,
          );
          last = now;
        },
      },
    );
    const seconds = (performance.now() - start) / 1000;
    const left = await s.stores.archive.count(s.orgId);
    if (p.state !== 'executed' || left !== total() - RECORDS)
      throw new Error(`disposition left ${left} records`);
    return seconds;
  } finally {
    await done(s);
  }
}

const total = () => RECORDS + Math.floor(RECORDS / (OTHER_EVERY - 1));

/** Seconds for a bare DELETE of the same rows, on the same database file, with better-sqlite3. */
async function bareDelete(): Promise<number> {
  const s = await seed();
  await s.stores.close();
  const db = new Database(join(s.dir, 'custos.db'));
  try {
    db.pragma('journal_mode = WAL');
    const start = performance.now();
    db.prepare('DELETE FROM archive_records WHERE org_id = ? AND bucket_id = ?').run(s.orgId, OLD);
    return (performance.now() - start) / 1000;
  } finally {
    db.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

/** The disposition suite. */
export const cases: BenchCase[] = [
  {
    kind: 'value',
    teardown: () => {
      if (template !== undefined) rmSync(template, { recursive: true, force: true });
    },
    name: `disposition of a bucket of ${RECORDS.toLocaleString('en')} records (SQLite, whole execution)`,
    unit: 's',
    lowerIsBetter: true,
    samples: SAMPLES,
    measure: dispose,
    baseline: { name: 'bare DELETE of the same rows', measure: bareDelete },
    target: { max: 60 },
  },
];
