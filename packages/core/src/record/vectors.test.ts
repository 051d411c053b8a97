/**
 * Re-derives docs/vectors/archive-record-v1.json byte for byte (everything but the
 * randomised XEdDSA signature, which must verify). Run with CUSTOS_WRITE_VECTORS=1 to
 * regenerate the file after a deliberate format change (which also needs a new version).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { deriveBucketKeyPair } from '../seal/bucket-key.js';
import { RecordCipher } from '../seal/record-cipher.js';
import type { SaltSource } from '../seal/record-cipher.js';
import { SESSION_KEY_HPKE_INFO } from '../seal/seal-params.js';
import {
  createSessionSealerDeterministicForVectorsOnly,
  decodeWrappedSessionKey,
  openSessionKey,
  wrapAad,
} from '../seal/session-key.js';
import { encodeBatchMessage, signBatch, verifyBatch } from '../sign/batch-signature.js';
import type { RecordBody } from './body.js';
import { encodeBody } from './body.js';
import { bucketId, deviceId, genesisPrevHash, orgId, toHex } from './ids.js';
import type { RecordHash } from './ids.js';
import { openRecord, parseRecord, sealRecordBytes } from './record.js';
import { verifyChain } from './chain.js';

const FILE = fileURLToPath(new URL('../../../../docs/vectors/archive-record-v1.json', import.meta.url));
const seed = (label: string): Buffer => createHash('sha256').update(`custos vector v1: ${label}`).digest();
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

const CTX = { org: orgId('org-example'), device: deviceId('device-7'), bucket: bucketId('permanent-2025') };

const BODIES: RecordBody[] = [
  {
    direction: 'sent',
    kind: 'message',
    messageId: 'msg-1',
    conversationId: 'conv-ops',
    participants: ['alice', 'bob'],
    sender: 'alice',
    sentAt: 1735689600000,
    serverAt: 1735689600120,
    text: 'The shipment leaves Friday. Ünïcödé ok — 送货',
    attachments: [
      {
        blobId: 'blob-a1',
        key: seed('attachment key').subarray(0, 32),
        digest: seed('attachment digest'),
        size: 48213,
        contentType: 'image/jpeg',
        fileName: 'manifest.jpg',
      },
    ],
    timerSeconds: 86400,
    archiveNotice: true,
    envelopeHashes: [seed('envelope 1')],
  },
  {
    direction: 'received',
    kind: 'edit',
    messageId: 'msg-2',
    conversationId: 'conv-ops',
    participants: ['alice', 'bob'],
    sender: 'bob',
    sentAt: 1735689660000,
    receivedAt: 1735689660400,
    serverAt: 1735689660150,
    text: 'Friday, 09:00.',
    attachments: [],
    edits: 'msg-0',
    archiveNotice: true,
    envelopeHashes: [seed('envelope 2')],
  },
];

/** JSON-friendly view of a body: byte strings as hex. */
const bodyJson = (v: unknown): unknown =>
  v instanceof Uint8Array
    ? Buffer.from(v).toString('hex')
    : Array.isArray(v)
      ? v.map(bodyJson)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bodyJson(x)]))
        : v;

async function derive(signatureFromFile?: string) {
  const bucketIkm = seed('bucket ikm');
  const bucket = await deriveBucketKeyPair(bucketIkm);
  const sessionKey = seed('session key');
  const ikmE = seed('hpke ikmE');
  const salts = [seed('salt 0').subarray(0, 16), seed('salt 1').subarray(0, 16)];
  let next = 0;
  const source: SaltSource = { nextInto: (out, at) => out.set(salts[next++]!, at) };
  const sealer = await createSessionSealerDeterministicForVectorsOnly(
    bucket.publicKey,
    CTX,
    sessionKey,
    ikmE,
    source,
  );
  const wrapped = decodeWrappedSessionKey(sealer.wrappedKey);
  const cipher = new RecordCipher(sessionKey);
  const records = [];
  let prev: RecordHash = genesisPrevHash();
  for (let seq = 0; seq < BODIES.length; seq++) {
    const body = BODIES[seq]!;
    const tokens = [seed(`token ${seq} a`).subarray(0, 16), seed(`token ${seq} b`).subarray(0, 16)];
    const bodyBytes = encodeBody(body);
    const attachmentBytes = body.attachments.reduce((n, a) => n + a.size, 0);
    const r = sealRecordBytes(sealer, { ...CTX, seq, prev, tokens, attachmentBytes }, bodyBytes);
    const p = parseRecord(r.bytes);
    records.push({
      seq,
      prev: toHex(prev),
      tokens: p.header.tokens.map(toHex),
      attachmentBytes,
      body: bodyJson(body),
      bodyBytes: toHex(bodyBytes),
      salt: toHex(salts[seq]!),
      recordKey: toHex(cipher.deriveRecordKey(salts[seq]!)),
      header: toHex(p.headerBytes),
      sealedBody: toHex(p.sealedBody),
      record: toHex(r.bytes),
      hash: toHex(r.hash),
    });
    prev = r.hash;
  }
  const identitySeed = seed('identity private key');
  const identity = PrivateKey.deserialize(Uint8Array.from(identitySeed));
  const batch = {
    org: CTX.org,
    device: CTX.device,
    firstSeq: 0,
    hashes: records.map((r) => hex(r.hash) as RecordHash),
  };
  return {
    bucket,
    vectors: {
      description:
        'Custos archive record format v1 test vectors (docs/archive-format.md). All byte strings are lower-case hex. ' +
        'Everything is deterministic except batch.signature: XEdDSA signatures are randomised, so it must verify, not reproduce.',
      context: { org: CTX.org, device: CTX.device, bucket: CTX.bucket },
      bucketKey: {
        ikm: toHex(bucketIkm),
        publicKey: toHex(bucket.publicKey.toBytes()),
        privateKey: toHex(await bucket.privateKey.exportBytes()),
      },
      session: {
        sessionKey: toHex(sessionKey),
        hpke: {
          mode: 0,
          kemId: 32,
          kdfId: 1,
          aeadId: 2,
          ikmE: toHex(ikmE),
          info: toHex(Buffer.from(SESSION_KEY_HPKE_INFO)),
          aad: toHex(wrapAad(CTX)),
          enc: toHex(wrapped.enc),
          ct: toHex(wrapped.ct),
        },
        wrappedSessionKey: toHex(sealer.wrappedKey),
        sessionKeyId: toHex(sealer.keyId),
      },
      records,
      identity: {
        privateKey: toHex(identitySeed),
        publicKey: toHex(identity.getPublicKey().serialize()),
      },
      batch: {
        firstSeq: 0,
        hashes: records.map((r) => r.hash),
        message: toHex(encodeBatchMessage(batch)),
        signature: signatureFromFile ?? toHex(signBatch(identity, batch)),
      },
    },
  };
}

describe('docs/vectors/archive-record-v1.json', () => {
  it('is re-derived byte for byte, opens, chains, and its signature verifies', async () => {
    if (process.env.CUSTOS_WRITE_VECTORS === '1') {
      const { vectors } = await derive();
      writeFileSync(FILE, JSON.stringify(vectors, null, 2) + '\n');
    }
    const file = JSON.parse(readFileSync(FILE, 'utf8')) as Awaited<ReturnType<typeof derive>>['vectors'];
    const { vectors, bucket } = await derive(file.batch.signature);
    expect(vectors).toEqual(file);

    // An independent reader's path: wrapped key -> session key -> each record.
    const opener = await openSessionKey(bucket.privateKey, hex(file.session.wrappedSessionKey));
    file.records.forEach((r, i) => {
      const opened = openRecord(opener, hex(r.record));
      expect(bodyJson(opened.body)).toEqual(r.body);
      expect(opened.header.seq).toBe(i);
    });
    verifyChain(file.records.map((r) => hex(r.record)));
    const batch = {
      org: CTX.org,
      device: CTX.device,
      firstSeq: file.batch.firstSeq,
      hashes: file.batch.hashes.map((h) => hex(h) as RecordHash),
    };
    expect(() => verifyBatch(hex(file.identity.publicKey), batch, hex(file.batch.signature))).not.toThrow();
  });
});
