/**
 * Export throughput (issue 5 target: RSMF export with opening, signature and proof checks
 * ≥ 5,000 messages/s).
 *
 * "export rsmf": `buildExport` of 5,000 records in memory — custody manifest, every
 * check `custos verify` makes (sealed bytes → SHA-256, header parse, batch signatures of
 * 500 records, log entry → RFC 9162 inclusion proof in a 5,000-leaf tree, checkpoint
 * signature, chains), folding into conversations, one .rsmf per conversation and day with
 * transcript and zip, and the file list. The records were opened beforehand (as the
 * console hands them over); "open + export rsmf" adds the AES-GCM opening of every
 * record with its session key. Baseline: the same records' bodies serialised as plain JSON
 * with no checks.
 */
import { PrivateKey } from '@signalapp/libsignal-client';
import {
  appendEntries,
  bucketId,
  createSessionSealer,
  deviceId,
  EMPTY_TREE_STATE,
  encodeLogEntry,
  generateBucketKeyPair,
  generateSignerKey,
  genesisPrevHash,
  inclusionProof,
  openRecord,
  openSessionKey,
  orgId,
  parseSignerKey,
  sealRecord,
  signBatch,
  signCheckpoint,
  tilesToWrite,
  type RecordBody,
  type RecordHash,
  type SessionOpener,
  type TileId,
} from '@custos/core';
import { buildExport, type ExportInput, type ExportRecord } from '@custos/console';
import type { BenchCase } from '../harness.js';

const N = 5_000;
const BATCH = 500;
const ORIGIN = 'custos.example/acme';
const T0 = Date.UTC(2026, 0, 5, 9);

let input: ExportInput;
let opener: SessionOpener;

async function setup(): Promise<void> {
  if (input !== undefined) return;
  const org = orgId('acme');
  const device = deviceId('alice-phone');
  const bucket = bucketId('standard-2026-01');
  const keys = await generateBucketKeyPair();
  const sealer = await createSessionSealer(keys.publicKey, { org, device, bucket });
  opener = await openSessionKey(keys.privateKey, sealer.wrappedKey);
  const identity = PrivateKey.generate();
  let prev: RecordHash = genesisPrevHash();
  const sealed = [];
  const bodies: RecordBody[] = [];
  for (let i = 0; i < N; i++) {
    const conv = `dm.peer${i % 20}`;
    const b: RecordBody = {
      direction: i % 2 === 0 ? 'sent' : 'received',
      kind: 'message',
      messageId: `m${i}`,
      conversationId: conv,
      participants: ['acme.alice', `acme.peer${i % 20}`],
      sender: i % 2 === 0 ? 'acme.alice' : `acme.peer${i % 20}`,
      sentAt: T0 + i * 60_000,
      text: `Message ${i}: the quarterly figures for the northern region look fine, see the attached note.`,
      attachments: [],
      ...(i % 10 === 5 ? { replyTo: `m${i - 20}` } : {}),
      archiveNotice: true,
      envelopeHashes: [new Uint8Array(32).fill(i % 251)],
    };
    const s = sealRecord(sealer, { org, device, bucket, seq: i, prev, tokens: [], attachmentBytes: 0 }, b);
    prev = s.hash;
    sealed.push(s);
    bodies.push(b);
  }
  const entries = sealed.map((s, i) =>
    encodeLogEntry({
      type: 'archive-record',
      hash: s.hash,
      size: s.bytes.length,
      actor: device,
      time: T0 + i * 60_000 + 9,
      org,
      device,
      seq: i,
      bucket,
    }),
  );
  const append = appendEntries(EMPTY_TREE_STATE, entries);
  const tiles = new Map(tilesToWrite(append, []).map((t) => [`${t.id.level}/${t.id.index}`, t.bytes]));
  const reader = {
    readTiles: async (ids: readonly TileId[]) => ids.map((id) => tiles.get(`${id.level}/${id.index}`)!),
  };
  const key = generateSignerKey(ORIGIN);
  const checkpoint = signCheckpoint(
    { origin: ORIGIN, treeSize: N, rootHash: append.root, extensions: [] },
    parseSignerKey(key.signerKey),
  );
  const records: ExportRecord[] = [];
  for (let at = 0; at < N; at += BATCH) {
    const hashes = sealed.slice(at, at + BATCH).map((s) => s.hash);
    const batch = {
      firstSeq: at,
      hashes,
      signature: signBatch(identity, { org, device, firstSeq: at, hashes }),
      identityKey: identity.getPublicKey().serialize(),
    };
    for (let i = at; i < at + hashes.length; i++) {
      const s = sealed[i]!;
      records.push({
        sealed: s.bytes,
        hash: s.hash,
        header: s.header,
        body: bodies[i]!,
        batch,
        log: {
          index: i,
          loggedAt: T0 + i * 60_000 + 9,
          proof: await inclusionProof(i, N, reader),
          checkpoint,
        },
      });
    }
  }
  input = {
    records,
    custodian: 'acme.alice',
    log: { origin: ORIGIN, verifierKey: key.verifierKey },
    exportedAt: T0,
    exportId: 'bench',
  };
}

const baseline = {
  name: 'bodies as plain JSON, no checks',
  run: (): number => {
    let n = 0;
    for (const r of input.records)
      n += JSON.stringify({ ...r.body, attachments: [], envelopeHashes: [] }).length > 0 ? 1 : 0;
    return n;
  },
};

/** The export suite. */
export const cases: BenchCase[] = [
  {
    kind: 'rate',
    name: 'export rsmf (checks included), 5,000 opened records',
    unit: 'messages/s',
    setup,
    samples: 5,
    run: async () => {
      await buildExport(input, { format: 'rsmf' });
      return N;
    },
    baseline,
    target: { min: 5_000 },
  },
  {
    kind: 'rate',
    name: 'open + export rsmf (checks included), 5,000 sealed records',
    unit: 'messages/s',
    setup,
    samples: 5,
    run: async () => {
      const opened = input.records.map((r) => ({
        ...r,
        body: openRecord(opener, Uint8Array.from(r.sealed)).body,
      }));
      await buildExport({ ...input, records: opened }, { format: 'rsmf' });
      return N;
    },
    baseline,
    target: { min: 5_000 },
  },
];
