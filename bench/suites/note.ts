/**
 * Signed-note, receipt and log-entry throughput.
 *
 * "checkpoint open": parse + origin check + Ed25519 verify of a signed checkpoint with a
 * prebuilt verifier set (what a client does per checkpoint). Baseline: one bare
 * `crypto.verify` of the same note text, so the ratio is the cost of the parser and checks.
 *
 * "receipt verify": parse + checkpoint open + a 24-hash inclusion proof at tree size 2^24.
 * Baseline: the same bare Ed25519 verify.
 *
 * "log entry encode+leaf hash" and "log entry decode": the per-entry cost of the
 * sequencer and of an auditor re-reading leaves.
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import {
  Ed25519NoteSigner,
  NoteVerifierSet,
  decodeLogEntry,
  encodeLogEntry,
  formatReceipt,
  hashLeaf,
  logEntryLeafHash,
  openCheckpoint,
  rootFromInclusionProof,
  signCheckpoint,
  verifyReceipt,
} from '@custos/core';
import type { BucketId, DeviceId, LogEntry, OrgId } from '@custos/core';
import type { BenchCase } from '../harness.js';

const ORIGIN = 'custos.example/acme';
const TREE_SIZE = 2 ** 24;
const PROOF_HASHES = 24;
const OPENS_PER_SAMPLE = 2_000;
const ENTRIES_PER_SAMPLE = 20_000;

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = new Ed25519NoteSigner(ORIGIN, privateKey);
const keys = new NoteVerifierSet([signer.verifierKey()]);

const leaf = hashLeaf(randomBytes(150));
const index = 1_234_567;
const proof = Array.from({ length: PROOF_HASHES }, () => new Uint8Array(randomBytes(32)));
const rootHash = rootFromInclusionProof(leaf, index, TREE_SIZE, proof);
const checkpoint = signCheckpoint({ origin: ORIGIN, treeSize: TREE_SIZE, rootHash, extensions: [] }, signer);
const checkpointBytes = new TextEncoder().encode(checkpoint);
const text = checkpointBytes.subarray(0, checkpoint.indexOf('\n\n') + 1);
const textSig = sign(null, text, privateKey);
const receipt = new TextEncoder().encode(formatReceipt({ index, proof, checkpoint }));

const entry: LogEntry = {
  type: 'archive-record',
  hash: new Uint8Array(randomBytes(32)),
  size: 4096,
  actor: 'dev-1',
  time: 1_767_139_200_000,
  org: 'acme' as OrgId,
  device: 'dev-1' as DeviceId,
  seq: 41,
  bucket: 'std-2026' as BucketId,
};
const entryBytes = encodeLogEntry(entry);

function bareVerify(): number {
  for (let i = 0; i < OPENS_PER_SAMPLE; i++) {
    if (!verify(null, text, publicKey, textSig)) throw new Error('bench: bad signature');
  }
  return OPENS_PER_SAMPLE;
}

function bareLeafHash(): number {
  for (let i = 0; i < ENTRIES_PER_SAMPLE; i++) hashLeaf(entryBytes);
  return ENTRIES_PER_SAMPLE;
}

/** The suite's cases. */
export const cases: BenchCase[] = [
  {
    kind: 'rate',
    name: 'checkpoint open (parse + Ed25519 verify)',
    unit: 'checkpoints/s',
    run: () => {
      for (let i = 0; i < OPENS_PER_SAMPLE; i++) openCheckpoint(checkpointBytes, keys, ORIGIN);
      return OPENS_PER_SAMPLE;
    },
    baseline: { name: 'bare Ed25519 verify', run: bareVerify },
    target: { minRatio: 0.7 },
  },
  {
    kind: 'rate',
    name: 'receipt verify @2^24 (24-hash proof)',
    unit: 'receipts/s',
    run: () => {
      for (let i = 0; i < OPENS_PER_SAMPLE; i++) verifyReceipt(receipt, leaf, keys, ORIGIN);
      return OPENS_PER_SAMPLE;
    },
    baseline: { name: 'bare Ed25519 verify', run: bareVerify },
    // 24 node hashes cost about as much as the signature check itself.
    target: { minRatio: 0.4 },
  },
  {
    kind: 'rate',
    name: 'log entry encode + leaf hash',
    unit: 'entries/s',
    run: () => {
      for (let i = 0; i < ENTRIES_PER_SAMPLE; i++) logEntryLeafHash(entry);
      return ENTRIES_PER_SAMPLE;
    },
    baseline: { name: 'bare leaf hash of the encoded entry', run: bareLeafHash },
    target: { min: 100_000 },
  },
  {
    kind: 'rate',
    name: 'log entry decode (strict)',
    unit: 'entries/s',
    run: () => {
      for (let i = 0; i < ENTRIES_PER_SAMPLE; i++) decodeLogEntry(entryBytes);
      return ENTRIES_PER_SAMPLE;
    },
    // Auditors decode; the sequencer only encodes. cborg's strict decoder dominates.
    target: { min: 50_000 },
  },
];
