/**
 * verify-hit against real core crypto (sealed records, libsignal batch signatures, a core
 * Merkle tree with a signed checkpoint): a hit verifies and opens; every tampering — bytes,
 * stated hash, stated device/seq/bucket, batch signature, batch hashes, proof, another bucket
 * key, another checkpoint — is refused with the right code. And the exact text filter.
 */
import { PrivateKey } from '@signalapp/libsignal-client';
import {
  appendEntries,
  bucketId,
  createSessionSealer,
  CustosError,
  deviceId,
  EMPTY_TREE_STATE,
  encodeLogEntry,
  generateBucketKeyPair,
  generateSignerKey,
  genesisPrevHash,
  inclusionProof,
  openCheckpoint,
  orgId,
  parseSignerKey,
  sealRecord,
  signBatch,
  signCheckpoint,
  tilesToWrite,
  type RecordBody,
  type RecordHash,
  type TileId,
} from '@custos/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSearchText, textMatches } from './search-text.js';
import { verifyHit, type ServerHit } from './verify-hit.js';

const ORG = 'acme';
const ORIGIN = 'custos.example/acme';
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

function body(text: string, i: number): RecordBody {
  return {
    direction: 'sent',
    kind: 'message',
    messageId: `m-${i}`,
    conversationId: 'conv-1',
    participants: ['acme.alice', 'acme.bob'],
    sender: 'acme.alice',
    sentAt: Date.UTC(2026, 0, 5) + i,
    text,
    attachments: [],
    archiveNotice: true,
    envelopeHashes: [],
  };
}

interface World {
  hits: ServerHit[];
  bucketKey: Awaited<ReturnType<typeof generateBucketKeyPair>>;
  otherBucket: Awaited<ReturnType<typeof generateBucketKeyPair>>;
  checkpoint: { opened: ReturnType<typeof openCheckpoint>['checkpoint']; note: string };
  otherNote: string;
  verifierKey: string;
}

async function world(): Promise<World> {
  const bucketKey = await generateBucketKeyPair();
  const otherBucket = await generateBucketKeyPair();
  const org = orgId(ORG);
  const dev = deviceId('dev-a');
  const bkt = bucketId('standard-2026-01');
  const sealer = await createSessionSealer(bucketKey.publicKey, { org, device: dev, bucket: bkt });
  const identity = PrivateKey.generate();
  let prev: RecordHash = genesisPrevHash();
  const texts = ['The budget review', 'lunch?', 'Budget approved'];
  const sealed = texts.map((t, seq) => {
    const s = sealRecord(
      sealer,
      { org, device: dev, bucket: bkt, seq, prev, tokens: [], attachmentBytes: 0 },
      body(t, seq),
    );
    prev = s.hash;
    return s;
  });
  const hashes = sealed.map((s) => s.hash);
  const signature = signBatch(identity, { org, device: dev, firstSeq: 0, hashes });
  const time = (i: number) => 1_800_000_000_000 + i;
  const entries = sealed.map((s, i) =>
    encodeLogEntry({
      type: 'archive-record',
      hash: s.hash,
      size: s.bytes.length,
      actor: dev,
      time: time(i),
      org,
      device: dev,
      seq: s.header.seq,
      bucket: bkt,
    }),
  );
  const append = appendEntries(EMPTY_TREE_STATE, entries);
  const tiles = new Map<string, Uint8Array>();
  for (const t of tilesToWrite(append, [])) tiles.set(`${t.id.level}/${t.id.index}`, t.bytes);
  const reader = {
    readTiles: async (ids: readonly TileId[]) => ids.map((id) => tiles.get(`${id.level}/${id.index}`)!),
  };
  const key = generateSignerKey(ORIGIN);
  const cp = { origin: ORIGIN, treeSize: append.state.size, rootHash: append.root, extensions: [] };
  const note = signCheckpoint(cp, parseSignerKey(key.signerKey));
  const otherNote = signCheckpoint(
    { ...cp, rootHash: new Uint8Array(32).fill(1) },
    parseSignerKey(key.signerKey),
  );
  const hits: ServerHit[] = [];
  for (const [i, s] of sealed.entries()) {
    hits.push({
      record: b64(s.bytes),
      hash: b64(s.hash),
      logIndex: i,
      deviceId: 'dev-a',
      seq: i,
      bucketId: 'standard-2026-01',
      receivedAt: time(i),
      identityKey: b64(identity.getPublicKey().serialize()),
      sessionKey: b64(sealer.wrappedKey),
      batch: { firstSeq: 0, signature: b64(signature), hashes: hashes.map(b64) },
      proof: (await inclusionProof(i, append.state.size, reader)).map(b64),
    });
  }
  return {
    hits,
    bucketKey,
    otherBucket,
    checkpoint: { opened: openCheckpoint(note, [key.verifierKey], ORIGIN).checkpoint, note },
    otherNote,
    verifierKey: key.verifierKey,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CustosError) return e.code;
    throw e;
  }
  return 'OK';
}

describe('verifyHit', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });

  it('opens and verifies every hit', async () => {
    for (const [i, h] of w.hits.entries()) {
      const v = await verifyHit(h, ORG, w.bucketKey.privateKey, w.checkpoint);
      expect(v.body.messageId).toBe(`m-${i}`);
      expect(v.signature).toBe('verified');
      expect(v.log.index).toBe(i);
    }
    const unsigned = await verifyHit(
      { ...w.hits[1]!, batch: null },
      ORG,
      w.bucketKey.privateKey,
      w.checkpoint,
    );
    expect(unsigned.signature).toBe('unavailable');
  });

  it('refuses every tampering with a code naming what failed', async () => {
    const h = w.hits[1]!;
    const bytes = Buffer.from(h.record, 'base64url');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5]! ^= 1;
    const check = (x: ServerHit, key = w.bucketKey.privateKey, cp = w.checkpoint) =>
      codeOf(verifyHit(x, ORG, key, cp));
    expect(await check({ ...h, record: b64(flipped) })).toBe('HASH_MISMATCH');
    expect(await check({ ...h, record: b64(flipped), hash: b64(new Uint8Array(32)) })).toBe('HASH_MISMATCH');
    expect(await check({ ...w.hits[0]!, hash: h.hash, record: h.record, seq: 0 })).toBe('MALFORMED_RECORD');
    expect(await check({ ...h, deviceId: 'dev-b' })).toBe('MALFORMED_RECORD');
    expect(await check({ ...h, bucketId: 'other' })).toBe('MALFORMED_RECORD');
    expect(await check(h, w.otherBucket.privateKey)).toBe('DECRYPTION_FAILED');
    const sig = Buffer.from(h.batch!.signature, 'base64url');
    sig[3]! ^= 1;
    expect(await check({ ...h, batch: { ...h.batch!, signature: b64(sig) } })).toBe('SIGNATURE_INVALID');
    expect(await check({ ...h, batch: { ...h.batch!, firstSeq: 1 } })).toBe('SIGNATURE_INVALID');
    expect(await check({ ...h, identityKey: w.hits[0]!.identityKey.replace(/^.{4}/, 'BQAA') })).toBe(
      'SIGNATURE_INVALID',
    );
    expect(await check({ ...h, proof: [...h.proof].reverse() })).toBe('INVALID_PROOF');
    expect(await check({ ...h, logIndex: 2 })).toBe('INVALID_PROOF');
    expect(await check({ ...h, receivedAt: h.receivedAt + 1 })).toBe('INVALID_PROOF');
    const other = {
      opened: { ...w.checkpoint.opened, rootHash: new Uint8Array(32).fill(1) },
      note: w.otherNote,
    };
    expect(await check(h, w.bucketKey.privateKey, other)).toBe('INVALID_PROOF');
  });
});

describe('exact text filter', () => {
  const m = (text: string, query: string, o = { matchDiacritics: false, matchCase: false }) =>
    textMatches(text, parseSearchText(query), o);

  it('words anywhere, accent-insensitive unless asked', () => {
    expect(m('The quarterly budget review', 'review budget')).toBe(true);
    expect(m('The quarterly budget review', 'budget lunch')).toBe(false);
    expect(m('Mon résumé est prêt', 'resume')).toBe(true);
    expect(m('Mon resume est prêt', 'résumé', { matchDiacritics: true, matchCase: false })).toBe(false);
    expect(m('Mon résumé est prêt', 'résumé', { matchDiacritics: true, matchCase: false })).toBe(true);
  });

  it('phrases as consecutive words; case when asked', () => {
    expect(m('The quarterly budget review', '"budget review"')).toBe(true);
    expect(m('The review of the budget', '"budget review"')).toBe(false);
    expect(m('The budget, reviewed', '"budget review"')).toBe(false);
    expect(m('Budget approved', 'budget', { matchDiacritics: false, matchCase: true })).toBe(false);
    expect(m('Budget approved', 'Budget', { matchDiacritics: false, matchCase: true })).toBe(true);
    expect(parseSearchText('a "b c" d')).toEqual({
      tokenText: 'a d b c',
      phrases: ['b c'],
      words: ['a', 'd'],
    });
  });
});
