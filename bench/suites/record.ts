/**
 * Archive record throughput (issue 2 target: record seal and open with a reused session
 * key, 1 KiB body, ≥ 100,000/s each on one core, ratio ≥ 0.5 to bare AES-256-GCM of the
 * same bytes with node:crypto).
 *
 * "record seal" is the whole per-record path of a device holding a session key: header
 * encoding (12 blind tokens), per-record key derivation, AES-256-GCM with the header as
 * aad, framing and the SHA-256 record hash that the next record chains to. "record open"
 * is parse + full header validation (against the session key's pre-encoded header
 * template, falling back to the strict decoder on any deviation) + key derivation +
 * AES-256-GCM open. Both take the body as encoded bytes; body CBOR encoding is reported
 * apart ("seal incl. body encode").
 *
 * "record seal floor" is what any implementation of this format must at least do per
 * record on node:crypto, with nothing of ours in it: the bare AES-256-GCM seal plus the
 * header as aad and one native SHA-256 over a record-sized buffer. It shows how far the
 * ≥ 100,000/s seal target is from the baseline itself. "record open floor" is the same
 * for opening: one decipher per record under that record's own key (precomputed, so no
 * derivation), tag, header as aad, ciphertext and final, on views of the very records the
 * open case opens (the same 20,000 distinct records, so the same cache footprint; the
 * bare-open baseline reopens one hot ciphertext). The two "… against its floor,
 * interleaved" rows give, as their ratio, the fraction of the floor a seal or an open
 * reaches; docs/performance.md ("Record seal and open, session 7") says where the rest goes.
 *
 * The "record key:" rows are the measurement behind the derivation choice in
 * packages/core/src/seal/record-cipher.ts: HKDF vs one createHmac vs hash.copy() of pad
 * states vs two one-shot hashes over pad blocks. All pay native-call and Buffer costs per
 * key; the implementation instead runs the two SHA-256 compressions of an HMAC from
 * precomputed midstates in JavaScript (crypto/hmac-sha256.ts, allocation-free), whose
 * cost is inside the "record seal" and "record open" rows.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hash,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import {
  bucketId,
  canonicalTokens,
  createSessionSealer,
  deviceId,
  generateBucketKeyPair,
  genesisPrevHash,
  openRecordBytes,
  openSessionKey,
  orgId,
  parseRecord,
  recordKeyOf,
  sealRecord,
  sealRecordBytes,
} from '@custos/core';
import type { RecordBody, RecordHash, SessionOpener, SessionSealer } from '@custos/core';
import type { BenchCase } from '../harness.js';

const OPS = 20_000;
const BODY = randomBytes(1024);
// Sorted and unique, as core/blind-index hands them out (a header stores tokens as a set).
const TOKENS = canonicalTokens(Array.from({ length: 12 }, () => randomBytes(16)));
const CTX = {
  org: orgId('org-acme'),
  device: deviceId('dev-alice-phone'),
  bucket: bucketId('standard-2025'),
};
const AES_KEY = randomBytes(32);
const ZERO_NONCE = Buffer.alloc(12);

let sealer: SessionSealer;
let opener: SessionOpener;
let sealed: Uint8Array[] = [];
let seq = 0;
let prev: RecordHash = genesisPrevHash();

async function setup(): Promise<void> {
  if (sealer) return;
  const bucket = await generateBucketKeyPair();
  sealer = await createSessionSealer(bucket.publicKey, CTX);
  opener = await openSessionKey(bucket.privateKey, sealer.wrappedKey);
  sealed = [];
  for (let i = 0; i < OPS; i++) sealed.push(sealOne());
}

function sealOne(): Uint8Array {
  // A plain literal: V8 handles a spread ({ ...CTX, … }) here several times slower.
  const r = sealRecordBytes(
    sealer,
    { org: CTX.org, device: CTX.device, bucket: CTX.bucket, seq, prev, tokens: TOKENS, attachmentBytes: 0 },
    BODY,
  );
  seq++;
  prev = r.hash;
  return r.bytes;
}

const baseCipher = {
  name: 'bare AES-256-GCM seal 1 KiB (node:crypto)',
  run: () => {
    for (let i = 0; i < OPS; i++) {
      const c = createCipheriv('aes-256-gcm', AES_KEY, ZERO_NONCE);
      c.update(BODY);
      c.final();
      c.getAuthTag();
    }
    return OPS;
  },
};

const AAD = randomBytes(300);
const RECORD_SIZED = randomBytes(1024 + 32 + 300 + 7);

const sealFloor = {
  name: 'bare AES-256-GCM seal + aad + SHA-256 of the record bytes (node:crypto)',
  run: () => {
    for (let i = 0; i < OPS; i++) {
      const c = createCipheriv('aes-256-gcm', AES_KEY, ZERO_NONCE);
      c.setAAD(AAD);
      c.update(BODY);
      c.final();
      c.getAuthTag();
      hash('sha256', RECORD_SIZED, 'binary');
    }
    return OPS;
  },
};

const ctForOpen = (() => {
  const c = createCipheriv('aes-256-gcm', AES_KEY, ZERO_NONCE);
  const ct = c.update(BODY);
  c.final();
  return { ct, tag: c.getAuthTag() };
})();

const baseDecipher = {
  name: 'bare AES-256-GCM open 1 KiB (node:crypto)',
  run: () => {
    for (let i = 0; i < OPS; i++) {
      const d = createDecipheriv('aes-256-gcm', AES_KEY, ZERO_NONCE);
      d.setAuthTag(ctForOpen.tag);
      d.update(ctForOpen.ct);
      d.final();
    }
    return OPS;
  },
};

// Per sealed record: its key, and where its header, ciphertext and tag lie in its bytes.
interface OpenFloorItem {
  readonly bytes: Uint8Array;
  readonly key: Buffer;
  readonly headerAt: number;
  readonly headerLength: number;
  readonly ctAt: number;
  readonly ctLength: number;
}
let openFloorItems: OpenFloorItem[] = [];
const SALT_BYTES = 16;
const TAG_BYTES = 16;
const OPEN_OPTIONS = { authTagLength: TAG_BYTES };

function openFloorSetup(): void {
  if (openFloorItems.length === sealed.length) return;
  // All keys in one off-heap Buffer, so that node never has to move a key's bytes.
  const keys = Buffer.alloc(32 * sealed.length);
  openFloorItems = sealed.map((bytes, i) => {
    const p = parseRecord(bytes);
    const key = keys.subarray(32 * i, 32 * (i + 1));
    key.set(recordKeyOf(opener, bytes));
    const headerAt = p.headerBytes.byteOffset - bytes.byteOffset;
    const sealedAt = p.sealedBody.byteOffset - bytes.byteOffset;
    return {
      bytes,
      key,
      headerAt,
      headerLength: p.headerBytes.length,
      ctAt: sealedAt + SALT_BYTES,
      ctLength: p.sealedBody.length - SALT_BYTES - TAG_BYTES,
    };
  });
}

const openFloor = {
  name: 'bare AES-256-GCM open + tag + aad, each record under its own key, same records (node:crypto)',
  run: () => {
    for (const r of openFloorItems) {
      const ab = r.bytes.buffer;
      const off = r.bytes.byteOffset;
      const d = createDecipheriv('aes-256-gcm', r.key, ZERO_NONCE, OPEN_OPTIONS);
      d.setAuthTag(new Uint8Array(ab, off + r.ctAt + r.ctLength, TAG_BYTES));
      d.setAAD(new Uint8Array(ab, off + r.headerAt, r.headerLength));
      d.update(new Uint8Array(ab, off + r.ctAt, r.ctLength));
      d.final();
    }
    return openFloorItems.length;
  },
};

const TEXT_BODY: RecordBody = {
  direction: 'sent',
  kind: 'message',
  messageId: 'msg-0001',
  conversationId: 'conv-42',
  participants: ['alice', 'bob'],
  sender: 'alice',
  sentAt: 1_735_689_600_000,
  text: 'x'.repeat(900),
  attachments: [],
  archiveNotice: true,
  envelopeHashes: [randomBytes(32)],
};

// Record-key derivation candidates, each HMAC-SHA256(K, label || 0 || salt) or an HKDF of it.
const K = randomBytes(32);
const LABEL = Buffer.from('custos-archive-v1 record-key\u0000');
const SALT = randomBytes(16);
const MSG = Buffer.concat([LABEL, SALT]);
const IPAD = Buffer.alloc(64, 0x36);
const OPAD = Buffer.alloc(64, 0x5c);
for (let i = 0; i < 32; i++) {
  IPAD[i]! ^= K[i]!;
  OPAD[i]! ^= K[i]!;
}
const INNER_STATE = createHash('sha256').update(IPAD);
const OUTER_STATE = createHash('sha256').update(OPAD);
const INNER_BLOCK = Buffer.concat([IPAD, MSG]);
const OUTER_BLOCK = Buffer.concat([OPAD, Buffer.alloc(32)]);

const derivation = (name: string, f: () => void): BenchCase => ({
  kind: 'rate',
  name: `record key: ${name}`,
  unit: 'keys/s',
  samples: 5,
  run: () => {
    for (let i = 0; i < OPS; i++) f();
    return OPS;
  },
});

/** The record suite. */
export const cases: BenchCase[] = [
  {
    kind: 'rate',
    name: 'record seal (1 KiB body, reused session key)',
    unit: 'records/s',
    setup,
    run: () => {
      for (let i = 0; i < OPS; i++) sealOne();
      return OPS;
    },
    baseline: baseCipher,
    target: { min: 100_000, minRatio: 0.5 },
  },
  {
    kind: 'rate',
    name: 'record open (1 KiB body, reused session key)',
    unit: 'records/s',
    setup,
    run: () => {
      for (const r of sealed) openRecordBytes(opener, r);
      return sealed.length;
    },
    baseline: baseDecipher,
    target: { min: 100_000, minRatio: 0.5 },
  },
  {
    kind: 'rate',
    name: 'record seal floor (node:crypto work every seal must do)',
    unit: 'records/s',
    samples: 5,
    run: sealFloor.run,
    baseline: baseCipher,
  },
  {
    kind: 'rate',
    name: 'record seal against its floor, interleaved',
    unit: 'records/s',
    setup,
    samples: 9,
    run: () => {
      for (let i = 0; i < OPS; i++) sealOne();
      return OPS;
    },
    baseline: sealFloor,
  },
  {
    kind: 'rate',
    name: 'record open floor (node:crypto work every open must do)',
    unit: 'records/s',
    setup: async () => {
      await setup();
      openFloorSetup();
    },
    samples: 5,
    run: openFloor.run,
    baseline: baseDecipher,
  },
  {
    kind: 'rate',
    name: 'record open against its floor, interleaved',
    unit: 'records/s',
    setup: async () => {
      await setup();
      openFloorSetup();
    },
    samples: 9,
    run: () => {
      for (const r of sealed) openRecordBytes(opener, r);
      return sealed.length;
    },
    baseline: openFloor,
  },
  {
    kind: 'rate',
    name: 'record seal incl. body encode (~1 KiB text)',
    unit: 'records/s',
    setup,
    samples: 5,
    run: () => {
      const n = OPS / 4;
      for (let i = 0; i < n; i++) {
        const r = sealRecord(
          sealer,
          {
            org: CTX.org,
            device: CTX.device,
            bucket: CTX.bucket,
            seq,
            prev,
            tokens: TOKENS,
            attachmentBytes: 0,
          },
          TEXT_BODY,
        );
        seq++;
        prev = r.hash;
      }
      return n;
    },
  },
  derivation('HKDF-SHA256 (hkdfSync)', () => hkdfSync('sha256', K, SALT, LABEL, 32)),
  derivation('HMAC-SHA256 (createHmac)', () => createHmac('sha256', K).update(MSG).digest()),
  derivation('HMAC via hash.copy() of pad states', () =>
    OUTER_STATE.copy().update(INNER_STATE.copy().update(MSG).digest()).digest(),
  ),
  derivation('HMAC via two one-shot hashes of pad blocks', () => {
    OUTER_BLOCK.set(hash('sha256', INNER_BLOCK, 'buffer'), 64);
    hash('sha256', OUTER_BLOCK, 'buffer');
  }),
];
