/**
 * verify-hit against real core crypto (sealed records, libsignal batch signatures, a core
 * Merkle tree with a signed checkpoint): a hit verifies and opens; every tampering — bytes,
 * stated hash, stated device/seq/bucket, batch signature, batch hashes, proof, another bucket
 * key, another checkpoint — is refused with the right code. And the exact text filter.
 */
import { PrivateKey } from '@signalapp/libsignal-client';
import {
  CustosError,
  generateBucketKeyPair,
  openCheckpoint,
  parseSignerKey,
  signBatch,
  signCheckpoint,
  type BucketPrivateKey,
  type DeviceId,
  type OrgId,
  type RecordHash,
} from '@custos/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { body, buildTestArchive, ORG } from '../export/export-test-support.js';
import { parseSearchText, textMatches } from './search-text.js';
import {
  identityKeyHash,
  parseEnrolmentDetail,
  type EnrolmentKeyCheck,
  type EnrolmentKeyStatus,
} from './enrolment-keys.js';
import { verifyHit, type ServerHit } from './verify-hit.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');

interface World {
  hits: ServerHit[];
  bucketKey: BucketPrivateKey;
  otherBucket: BucketPrivateKey;
  checkpoint: { opened: ReturnType<typeof openCheckpoint>['checkpoint']; note: string };
  otherNote: string;
  /** The log's view: each device's committed identity key hash. */
  logged: EnrolmentKeyCheck;
}

/** A checker as enrolmentKeyChecker answers, from a map of committed hashes (null: legacy). */
function checkerOf(committed: ReadonlyMap<string, string | null>): EnrolmentKeyCheck {
  return (device, key): Promise<EnrolmentKeyStatus> => {
    const h = committed.get(device);
    if (h === undefined) return Promise.resolve('absent');
    if (h === null) return Promise.resolve('legacy');
    return Promise.resolve(h === identityKeyHash(key) ? 'match' : 'mismatch');
  };
}

/** Three records of one device in one signed batch, as the server would return them. */
async function world(): Promise<World> {
  const texts = ['The budget review', 'lunch?', 'Budget approved'];
  const archive = await buildTestArchive(
    texts.map((text, i) => ({
      device: 'dev-a',
      body: body({ messageId: `m-${i}`, text, sentAt: Date.UTC(2026, 0, 5) + i }),
    })),
  );
  const { records, log } = archive.input;
  const note = records[0]!.log.checkpoint;
  const opened = openCheckpoint(note, [log.verifierKey], log.origin).checkpoint;
  const otherNote = signCheckpoint(
    { ...opened, rootHash: new Uint8Array(32).fill(1) },
    parseSignerKey(archive.signerKey),
  );
  const hits = records.map((r): ServerHit => ({
    record: b64(r.sealed),
    hash: b64(r.hash),
    logIndex: r.log.index,
    deviceId: r.header.device,
    seq: r.header.seq,
    bucketId: r.header.bucket,
    receivedAt: r.log.loggedAt,
    identityKey: b64(r.batch.identityKey),
    sessionKey: b64(archive.sessionKeys.get('dev-a')!),
    batch: { firstSeq: r.batch.firstSeq, signature: b64(r.batch.signature), hashes: r.batch.hashes.map(b64) },
    proof: r.log.proof.map(b64),
  }));
  return {
    hits,
    bucketKey: archive.bucketKey,
    otherBucket: (await generateBucketKeyPair()).privateKey,
    checkpoint: { opened, note },
    otherNote,
    logged: checkerOf(new Map([['dev-a', identityKeyHash(records[0]!.batch.identityKey)]])),
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
      const v = await verifyHit(h, ORG, w.bucketKey, w.checkpoint, w.logged);
      expect(v.body.messageId).toBe(`m-${i}`);
      expect(v.signature).toBe('verified');
      expect(v.log.index).toBe(i);
    }
    const unsigned = await verifyHit(
      { ...w.hits[1]!, batch: null },
      ORG,
      w.bucketKey,
      w.checkpoint,
      w.logged,
    );
    expect(unsigned.signature).toBe('unavailable');
  });

  it('refuses every tampering with a code naming what failed', async () => {
    const h = w.hits[1]!;
    const bytes = Buffer.from(h.record, 'base64url');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5]! ^= 1;
    const check = (x: ServerHit, key = w.bucketKey, cp = w.checkpoint) =>
      codeOf(verifyHit(x, ORG, key, cp, w.logged));
    expect(await check({ ...h, record: b64(flipped) })).toBe('HASH_MISMATCH');
    expect(await check({ ...h, record: b64(flipped), hash: b64(new Uint8Array(32)) })).toBe('HASH_MISMATCH');
    expect(await check({ ...w.hits[0]!, hash: h.hash, record: h.record, seq: 0 })).toBe('MALFORMED_RECORD');
    expect(await check({ ...h, deviceId: 'dev-b' })).toBe('MALFORMED_RECORD');
    expect(await check({ ...h, bucketId: 'other' })).toBe('MALFORMED_RECORD');
    expect(await check(h, w.otherBucket)).toBe('DECRYPTION_FAILED');
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
    expect(await check(h, w.bucketKey, other)).toBe('INVALID_PROOF');
  });
});

describe('identity key against the logged enrolment', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });

  /** The hit re-signed by the server under another valid identity key. */
  function swapped(h: ServerHit): ServerHit {
    const other = PrivateKey.generate();
    const hashes = h.batch!.hashes.map((x) => new Uint8Array(Buffer.from(x, 'base64url')) as RecordHash);
    const signature = signBatch(other, {
      org: ORG as OrgId,
      device: h.deviceId as DeviceId,
      firstSeq: h.batch!.firstSeq,
      hashes,
    });
    return {
      ...h,
      identityKey: b64(other.getPublicKey().serialize()),
      batch: { ...h.batch!, signature: b64(signature) },
    };
  }

  it('refuses a swapped key whose signature verifies but that the enrolment did not commit to', async () => {
    const h = swapped(w.hits[1]!);
    // Its signature is valid: a checker that trusted the served key would accept it.
    const trusting: EnrolmentKeyCheck = () => Promise.resolve('match');
    expect((await verifyHit(h, ORG, w.bucketKey, w.checkpoint, trusting)).signature).toBe('verified');
    const err = await verifyHit(h, ORG, w.bucketKey, w.checkpoint, w.logged).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect((err as CustosError).code).toBe('SIGNATURE_INVALID');
    expect((err as CustosError).message).toMatch(
      /device dev-a: the device's identity key is not the one its enrolment committed to in the log/,
    );
  });

  it('refuses a device with no logged enrolment; a pre-commitment enrolment is unavailable', async () => {
    const h = w.hits[0]!;
    const none = checkerOf(new Map());
    expect(await codeOf(verifyHit(h, ORG, w.bucketKey, w.checkpoint, none))).toBe('SIGNATURE_INVALID');
    const legacy = checkerOf(new Map([['dev-a', null]]));
    expect((await verifyHit(h, ORG, w.bucketKey, w.checkpoint, legacy)).signature).toBe('unavailable');
  });

  it("marks a hit logged after its device's revocation, and asks about every hit, signed or not", async () => {
    const asked: [string, number][] = [];
    const revokedAt1: EnrolmentKeyCheck = Object.assign(
      (device: string, key: Uint8Array) => w.logged(device, key),
      {
        revokedBefore: (device: string, logIndex: number) => {
          asked.push([device, logIndex]);
          return Promise.resolve(logIndex > 1 ? 1 : null);
        },
      },
    );
    const [before, , after] = await Promise.all(
      w.hits.map((h) => verifyHit(h, ORG, w.bucketKey, w.checkpoint, revokedAt1)),
    );
    expect(before!.afterRevocation).toBeUndefined();
    expect(after!.afterRevocation).toBe(1);
    const unsigned = await verifyHit(
      { ...w.hits[2]!, batch: null },
      ORG,
      w.bucketKey,
      w.checkpoint,
      revokedAt1,
    );
    expect(unsigned.afterRevocation).toBe(1);
    expect(asked.sort((a, b) => a[1] - b[1])).toEqual([
      ['dev-a', 0],
      ['dev-a', 1],
      ['dev-a', 2],
      ['dev-a', 2],
    ]);
  });

  it('parses enrolment details with and without a key commitment', () => {
    const hash = identityKeyHash(new Uint8Array(33).fill(5));
    expect(parseEnrolmentDetail(`user-1 identity=${hash}`)).toEqual({ userId: 'user-1', identityHash: hash });
    expect(parseEnrolmentDetail('user-1')).toEqual({ userId: 'user-1', identityHash: null });
    for (const bad of ['', ' identity=x', 'user-1 identity=short', `user-1 key=${hash}`, `u ${hash} x`])
      expect(() => parseEnrolmentDetail(bad)).toThrow(/malformed/);
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
