/**
 * Merkle log throughput (issue 2 targets).
 *
 * "log append+integrate": batches of 1,000 entries are leaf-hashed, folded into the tree
 * state, and turned into the tiles a server persists (tilesToWrite, extending the previous
 * partial tiles). Baseline: one bare `crypto.hash('sha256', entry)` per entry.
 *
 * "inclusion verify @2^24": verifyInclusion of real 24-hash proofs against the root of a
 * tree of 2^24 leaves. The tree is never materialised: 1,024 random leaves are distinct and
 * every other leaf is one constant, so a subtree without a distinct leaf has a hash that
 * depends only on its height and the rest is computed lazily. Baseline: 24 bare
 * `crypto.hash` calls on 65-byte inputs.
 *
 * "archive-record entries": what ingest sequences per record, for a batch of 100 records of
 * one device (encodeArchiveRecordEntries, one buffer per batch). Baseline: encodeLogEntry
 * once per record, as ingest did until session 21.
 */
import { hash, randomBytes } from 'node:crypto';
import {
  EMPTY_TREE_STATE,
  appendEntries,
  edgeTilesToRead,
  encodeArchiveRecordEntries,
  encodeLogEntry,
  hashChildren,
  hashLeaf,
  tilePath,
  tilesToWrite,
  verifyInclusion,
} from '@custos/core';
import type { BucketId, DeviceId, OrgId, TreeState } from '@custos/core';
import type { BenchCase } from '../harness.js';

const BATCH = 1000;
const BATCHES_PER_SAMPLE = 100;
const ENTRY_BYTES = 100; // a log entry commitment (hash, size, type, actor, time) with framing
const TREE_HEIGHT = 24;
const DISTINCT_LEAVES = 1024;
const VERIFIES_PER_SAMPLE = 20_000;

// ---- append ----
const entries = Array.from({ length: BATCH * 8 }, () => randomBytes(ENTRY_BYTES));
let state: TreeState = EMPTY_TREE_STATE;
// The store a server would keep: here only what the next append needs (the edge tiles).
const edge = new Map<string, Uint8Array>();
let persistedBytes = 0;

function appendSample(): number {
  for (let b = 0; b < BATCHES_PER_SAMPLE; b++) {
    const off = (b % 8) * BATCH;
    const res = appendEntries(state, entries.slice(off, off + BATCH));
    const previous = edgeTilesToRead(res).map((id) => edge.get(tilePath(id))!);
    for (const t of tilesToWrite(res, previous)) {
      persistedBytes += t.bytes.length;
      if (t.id.width < 256) edge.set(tilePath(t.id), t.bytes);
    }
    state = res.state;
  }
  return BATCH * BATCHES_PER_SAMPLE;
}

function bareLeafHashSample(): number {
  let x = 0;
  for (let b = 0; b < BATCHES_PER_SAMPLE; b++) {
    const off = (b % 8) * BATCH;
    for (let i = 0; i < BATCH; i++) x ^= hash('sha256', entries[off + i]!, 'buffer')[0]!;
  }
  if (x === 256) throw new Error('unreachable');
  return BATCH * BATCHES_PER_SAMPLE;
}

// ---- inclusion verification at 2^24 ----
const constantLeaf = hashLeaf(new TextEncoder().encode('custos bench constant leaf'));
const constantSubtree: Uint8Array[] = [constantLeaf];
for (let h = 1; h <= TREE_HEIGHT; h++)
  constantSubtree.push(hashChildren(constantSubtree[h - 1]!, constantSubtree[h - 1]!));
const distinct = [
  ...new Set(Array.from({ length: DISTINCT_LEAVES }, () => randomBytes(4).readUInt32BE() % 2 ** TREE_HEIGHT)),
].sort((a, b) => a - b);
const distinctLeaf = (i: number): Uint8Array => hashLeaf(new TextEncoder().encode(`distinct leaf ${i}`));
const memo = new Map<string, Uint8Array>();

/** Whether [lo, hi) contains one of the distinct leaves (binary search). */
function hasDistinct(lo: number, hi: number): boolean {
  let a = 0;
  let b = distinct.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (distinct[m]! < lo) a = m + 1;
    else b = m;
  }
  return a < distinct.length && distinct[a]! < hi;
}

function node(h: number, i: number): Uint8Array {
  if (!hasDistinct(i * 2 ** h, (i + 1) * 2 ** h)) return constantSubtree[h]!;
  if (h === 0) return distinctLeaf(i);
  const key = `${h}/${i}`;
  let v = memo.get(key);
  if (!v) memo.set(key, (v = hashChildren(node(h - 1, 2 * i), node(h - 1, 2 * i + 1))));
  return v;
}

const root = node(TREE_HEIGHT, 0);
const proofs = distinct.map((i) => ({
  index: i,
  leaf: distinctLeaf(i),
  proof: Array.from({ length: TREE_HEIGHT }, (_, h) => node(h, Math.floor(i / 2 ** h) ^ 1)),
}));
for (const p of proofs) verifyInclusion(p.leaf, p.index, 2 ** TREE_HEIGHT, p.proof, root); // real proofs

function verifySample(): number {
  for (let n = 0; n < VERIFIES_PER_SAMPLE; n++) {
    const p = proofs[n % proofs.length]!;
    verifyInclusion(p.leaf, p.index, 2 ** TREE_HEIGHT, p.proof, root);
  }
  return VERIFIES_PER_SAMPLE;
}

const nodeInput = new Uint8Array(65).fill(1);
function bareVerifySample(): number {
  let x = 0;
  for (let n = 0; n < VERIFIES_PER_SAMPLE; n++) {
    for (let h = 0; h < TREE_HEIGHT; h++) x ^= hash('sha256', nodeInput, 'buffer')[0]!;
  }
  if (x === 256) throw new Error('unreachable');
  return VERIFIES_PER_SAMPLE;
}

// ---- archive-record entries ----
const RECORDS_PER_BATCH = 100;
const ENTRY_BATCHES_PER_SAMPLE = 2_000;
const run = {
  org: 'org_01JDXYZABCDEFGHJKMNPQRSTVW' as OrgId,
  device: 'dev_01JDXYZABCDEFGHJKMNPQRSTVW' as DeviceId,
  time: Date.UTC(2026, 10, 28),
};
const recordFields = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
  hash: randomBytes(32),
  size: 1_100 + i,
  seq: 50_000 + i,
  bucket: 'general-2026-11' as BucketId,
}));

function batchedEntriesSample(): number {
  let x = 0;
  for (let b = 0; b < ENTRY_BATCHES_PER_SAMPLE; b++) {
    const fields = recordFields.map((r) => ({ hash: r.hash, size: r.size, seq: r.seq, bucket: r.bucket }));
    x ^= encodeArchiveRecordEntries(run, fields)[RECORDS_PER_BATCH - 1]!.length;
  }
  if (x === -1) throw new Error('unreachable');
  return RECORDS_PER_BATCH * ENTRY_BATCHES_PER_SAMPLE;
}

function perEntrySample(): number {
  let x = 0;
  for (let b = 0; b < ENTRY_BATCHES_PER_SAMPLE; b++) {
    for (const r of recordFields) {
      x ^= encodeLogEntry({ type: 'archive-record', actor: run.device, ...run, ...r }).length;
    }
  }
  if (x === -1) throw new Error('unreachable');
  return RECORDS_PER_BATCH * ENTRY_BATCHES_PER_SAMPLE;
}

export const cases: BenchCase[] = [
  {
    kind: 'rate',
    name: 'log append+integrate (batches of 1,000)',
    unit: 'leaves/s',
    run: appendSample,
    baseline: { name: 'bare SHA-256 per entry', run: bareLeafHashSample },
    target: { min: 500_000, minRatio: 0.4 },
    teardown: () => {
      if (persistedBytes === 0) throw new Error('append bench persisted nothing');
    },
  },
  {
    kind: 'rate',
    name: 'inclusion verify @2^24 (24-hash proofs)',
    unit: 'proofs/s',
    run: verifySample,
    baseline: { name: '24 bare SHA-256 of 65 B', run: bareVerifySample },
    target: { min: 50_000 },
  },
  {
    kind: 'rate',
    name: 'archive-record log entries (batches of 100 records)',
    unit: 'entries/s',
    run: batchedEntriesSample,
    baseline: { name: 'encodeLogEntry per record', run: perEntrySample },
  },
];
