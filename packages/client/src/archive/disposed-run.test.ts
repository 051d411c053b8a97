/**
 * The upload past records sealed to a disposed bucket (uploader.ts, chain-recovery.ts
 * disposedRun, gap-proofs.ts): once everything before them is acknowledged the device
 * declares the run lost (`bucket-disposed`) and uploads on in the same round once the server
 * has accepted the declaration, but drops exactly those records only once the declaration's
 * archive-gap entry is proven in the log (proofs.ts); a declaration that fails changes
 * nothing, a log without the entry keeps them waiting — checked once a round, not waited for
 * after GAP_PROOF_WAIT_MS, reported overdue after GAP_PROOF_OVERDUE_MS by the device's
 * clock — another entry is RECEIPT_INVALID.
 * The server is played by a fetch that checks what a real one checks of the chain (batch
 * order and links, the declaration's signature and position) and serves a signed log of its
 * entries; its own acceptance rules are tested in
 * packages/server/src/archive/archive-gaps.test.ts and end to end in
 * test/officer-disposition.test.ts.
 */
import { createHash } from 'node:crypto';
import {
  appendEntries,
  consistencyProof,
  EMPTY_TREE_STATE,
  encodeEntryBundle,
  encodeLogEntry,
  formatReceipt,
  generateSignerKey,
  inclusionProof,
  parseRecord,
  parseSignerKey,
  recordHashOf,
  signCheckpoint,
  tilesToWrite,
  verifyGapDeclaration,
  type LogEntry,
  type TileId,
} from '@custos/core';
import { PrivateKey } from '@signalapp/libsignal-client';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveStatus } from '../client/archive-view.js';
import { savePinnedLog } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import { ApiClient } from '../transport/api-client.js';
import {
  TEST_NOW as NOW,
  putTestBucket as putBucket,
  TempStores,
  testBody as body,
  testProfile as profile,
} from './archive-test-support.js';
import { ArchiveCapture, decodeQueued, loadChain } from './capture.js';
import { declaredGaps } from './chain-recovery.js';
import { noteDisposedBucket } from './disposed-buckets.js';
import { GAP_PROOF_OVERDUE_MS, GAP_PROOF_WAIT_MS, pendingGapProofs, putPendingGap } from './gap-proofs.js';
import { isPending } from './pending-records.js';
import { verifyArchiveProofs } from './proofs.js';
import { ArchiveUploader, uploadedThrough } from './uploader.js';

const ORIGIN = 'custos.test/disposed-run';
const stores = new TempStores();
afterEach(() => stores.removeAll());

/** The records of a binary batch body (batch-body.ts). */
function batchRecords(b: Uint8Array): Uint8Array[] {
  const buf = Buffer.from(b);
  let at = 1 + 64;
  const keys = buf[at++]!;
  for (let i = 0; i < keys; i++) at += 4 + buf.readUInt32BE(at);
  const n = buf.readUInt16BE(at);
  at += 2;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = buf.readUInt32BE(at);
    out.push(Uint8Array.from(buf.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return out;
}

/** An archive-gap entry as the log shows an accepted declaration (the server chooses `time`). */
type GapEntry = Extract<LogEntry, { type: 'archive-gap' }>;

/**
 * A server holding this device's chain: it takes batches that continue it and gap
 * declarations that start right after it and link to it (verified with the device key; a
 * repeat of an accepted one is answered with its first index, as a real server does), and
 * serves its log (receipts under a checkpoint signed with `logKey`, entry bundles,
 * consistency proofs). `failGaps` makes it answer the next declarations with that status
 * and code instead; `loseAnswer` accepts the next one but loses the answer (a crash);
 * `gapEntry` says what its log shows for an accepted declaration: the entry (`logged`),
 * nothing at the answered index (`unlogged`), or another entry.
 */
function chainServer(identity: PrivateKey) {
  const logKey = generateSignerKey(ORIGIN);
  const state = {
    head: { seq: -1, hash: new Uint8Array(32) as Uint8Array },
    stored: [] as number[],
    declared: [] as { firstSeq: number; lastSeq: number; reason: string }[],
    /** Every declaration document posted, hex. */
    posted: [] as string[],
    failGaps: undefined as { status: number; code: string } | undefined,
    loseAnswer: false,
    gapEntry: 'logged' as 'logged' | 'unlogged' | ((e: GapEntry) => LogEntry),
    accepted: new Map<number, { lastSeq: number; logIndex: number }>(),
    log: [] as Uint8Array[],
    /** The log index of every receipt asked for, in order. */
    receiptsAsked: [] as number[],
  };
  const json = (status: number, v: unknown) =>
    Promise.resolve(
      new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } }),
    );
  const tree = (size: number) => {
    const append = appendEntries(EMPTY_TREE_STATE, state.log.slice(0, size));
    const tiles = new Map<string, Uint8Array>();
    for (const t of tilesToWrite(append, [])) tiles.set(`${t.id.level}/${t.id.index}`, t.bytes);
    const reader = {
      readTiles: async (ids: readonly TileId[]) => ids.map((id) => tiles.get(`${id.level}/${id.index}`)!),
    };
    const checkpoint = signCheckpoint(
      { origin: ORIGIN, treeSize: size, rootHash: append.root, extensions: [] },
      parseSignerKey(logKey.signerKey),
    );
    return { reader, checkpoint };
  };
  const logPath = `/v1/orgs/${profile.orgId}/log`;
  const f = async (url: string, init?: { method?: string; body?: string | Uint8Array }) => {
    const u = new URL(url);
    const path = u.pathname;
    if (path === '/v1/archive/batches') {
      const records = batchRecords(init!.body as Uint8Array);
      const logIndexes: number[] = [];
      for (const r of records) {
        const h = parseRecord(r).header;
        expect(h.seq).toBe(state.head.seq + 1);
        expect(Buffer.from(h.prev).equals(Buffer.from(state.head.hash))).toBe(true);
        state.head = { seq: h.seq, hash: recordHashOf(r) };
        state.stored.push(h.seq);
        logIndexes.push(state.log.length);
        state.log.push(
          encodeLogEntry({
            type: 'archive-record',
            hash: recordHashOf(r),
            size: r.length,
            actor: h.device,
            time: NOW,
            org: h.org,
            device: h.device,
            seq: h.seq,
            bucket: h.bucket,
          }),
        );
      }
      return json(200, { logIndexes });
    }
    if (path === '/v1/archive/gaps') {
      if (state.failGaps !== undefined)
        return json(state.failGaps.status, { error: { code: state.failGaps.code, message: 'no' } });
      const doc = Buffer.from(JSON.parse(init!.body as string).declaration as string, 'base64url');
      state.posted.push(doc.toString('hex'));
      const d = verifyGapDeclaration(identity.getPublicKey().serialize(), doc);
      const head = { seq: d.lastSeq, hash: Buffer.from(d.resume).toString('base64url') };
      const repeat = state.accepted.get(d.firstSeq);
      if (repeat !== undefined) {
        expect(repeat.lastSeq).toBe(d.lastSeq);
        return json(200, { logIndex: repeat.logIndex, stored: false, head });
      }
      expect(d.firstSeq).toBe(state.head.seq + 1);
      expect(Buffer.from(d.prev).equals(Buffer.from(state.head.hash))).toBe(true);
      state.head = { seq: d.lastSeq, hash: d.resume };
      state.declared.push({ firstSeq: d.firstSeq, lastSeq: d.lastSeq, reason: d.reason });
      const entry: GapEntry = {
        type: 'archive-gap',
        hash: createHash('sha256').update(doc).digest(),
        size: doc.length,
        actor: d.device,
        time: NOW + 1,
        org: d.org,
        device: d.device,
        seq: d.firstSeq,
        end: d.lastSeq,
        reason: d.reason,
      };
      // A lying server answers an index its log never fills.
      const logIndex = state.gapEntry === 'unlogged' ? 1_000_000 : state.log.length;
      if (state.gapEntry === 'logged') state.log.push(encodeLogEntry(entry));
      else if (state.gapEntry !== 'unlogged') state.log.push(encodeLogEntry(state.gapEntry(entry)));
      state.accepted.set(d.firstSeq, { lastSeq: d.lastSeq, logIndex });
      if (state.loseAnswer) {
        state.loseAnswer = false;
        throw new TypeError('fetch failed: the connection dropped before the answer');
      }
      return json(200, { logIndex, stored: true, head });
    }
    const size = state.log.length;
    const receipt = new RegExp(`^${logPath}/receipts/(\\d+)$`).exec(path);
    if (receipt !== null) {
      const index = Number(receipt[1]);
      state.receiptsAsked.push(index);
      if (index >= size) return json(404, { error: { code: 'LOG_NOT_FOUND', message: 'not yet' } });
      const { reader, checkpoint } = tree(size);
      const text = formatReceipt({ index, proof: await inclusionProof(index, size, reader), checkpoint });
      return new Response(text, { status: 200, headers: { 'content-type': 'text/plain' } });
    }
    const bundle = new RegExp(`^${logPath}/tile/entries/(\\d+)(?:\\.p/(\\d+))?$`).exec(path);
    if (bundle !== null) {
      const n = Number(bundle[1]);
      const w = bundle[2] === undefined ? 256 : Number(bundle[2]);
      const body = Buffer.from(encodeEntryBundle(state.log.slice(n * 256, n * 256 + w)));
      return new Response(body, { status: 200, headers: { 'content-type': 'application/octet-stream' } });
    }
    if (path === `${logPath}/proof/consistency`) {
      const from = Number(u.searchParams.get('from'));
      const to = Number(u.searchParams.get('to'));
      const proof = await consistencyProof(from, to, tree(to).reader);
      return json(200, { from, to, proof: proof.map((h) => Buffer.from(h).toString('base64url')) });
    }
    throw new Error(`unexpected request ${path}`);
  };
  return {
    state,
    api: new ApiClient('http://127.0.0.1:1', { fetch: f }),
    /** Pins this server's log on the device (as enrolment does). */
    pin: (store: LocalStore) => savePinnedLog(store, { origin: ORIGIN, verifierKey: logKey.verifierKey }),
  };
}

/** The queue's sealed rows as (seq, bucket). */
const queued = (store: LocalStore) =>
  store
    .listAfter('archive-queue', -1, 1000)
    .filter((r) => !isPending(r.value))
    .map((r) => {
      const q = decodeQueued(r.value);
      return [q.seq, q.bucket];
    });

/**
 * A store with bucket b1 and a device uploading to `chainServer`, whose log it has pinned;
 * `clock.now` is the device's clock (uploads, proof passes, status), NOW until a test moves it.
 */
async function device(batchRecords?: number) {
  const store = stores.open('custos-disposed-run-');
  await putBucket(store, 'b1');
  const capture = new ArchiveCapture(store, profile, () => NOW);
  const identity = PrivateKey.generate();
  const server = chainServer(identity);
  server.pin(store);
  const clock = { now: NOW };
  const uploader = new ArchiveUploader(store, server.api, profile, identity, {
    clock: () => clock.now,
    ...(batchRecords === undefined ? {} : { batchRecords }),
  });
  const prove = () => verifyArchiveProofs(server.api, store, profile, clock.now);
  const status = () => archiveStatus(store, profile, clock.now);
  const close = () => {
    capture.close();
    store.close();
  };
  return { store, capture, uploader, prove, status, clock, close, ...server };
}

const disposeB1 = (store: LocalStore) =>
  noteDisposedBucket(store, { bucketId: 'b1', planId: 'ab'.repeat(32), disposedAt: NOW });

describe('upload past records sealed to a disposed bucket', () => {
  it('declares the run, uploads the rest in the same round, and drops the run only once its log entry is proven', async () => {
    const { store, capture, uploader, prove, status, close, state } = await device(2);
    for (let i = 0; i < 2; i++) await capture.capture(body(i));
    expect(await uploader.uploadAll()).toBe(2); // 0–1 archived
    // 2–4 are sealed to b1, then the server reports b1 disposed of (the laptop in a drawer).
    for (let i = 2; i < 5; i++) await capture.capture(body(i));
    disposeB1(store);
    await putBucket(store, 'b2');
    for (let i = 5; i < 7; i++) await capture.capture(body(i));
    const before = queued(store);
    expect(before).toEqual([
      [0, 'b1'],
      [1, 'b1'],
      [2, 'b1'],
      [3, 'b1'],
      [4, 'b1'],
      [5, 'b2'],
      [6, 'b2'],
    ]);

    // A declaration that fails (overload, then a refusal) leaves the queue as it was.
    for (const fail of [
      { status: 503, code: 'LOG_PUSHBACK' },
      { status: 409, code: 'ARCHIVE_GAP_MISMATCH' },
    ]) {
      state.failGaps = fail;
      await expect(uploader.uploadAll(1)).rejects.toMatchObject({
        code: 'ARCHIVE_UPLOAD_FAILED',
        server: { code: fail.code },
      });
      expect(queued(store)).toEqual(before);
      expect(uploadedThrough(store)).toBe(1);
      expect(declaredGaps(store)).toEqual([]);
      expect(state.declared).toEqual([]);
    }

    // Accepted, but the answer is lost (a crash): nothing moves; the next upload posts the
    // same signed document again, which the server answers with its first entry's index.
    state.failGaps = undefined;
    state.loseAnswer = true;
    await expect(uploader.uploadAll(1)).rejects.toMatchObject({ code: 'NETWORK' });
    expect(uploadedThrough(store)).toBe(1);
    expect(queued(store)).toEqual(before);
    expect(pendingGapProofs(store).map((g) => g.logIndex)).toEqual([undefined]);

    // Accepted: 2–4 declared and 5–6 uploaded in the same round, chaining from 4; 2–4 stay
    // queued, awaiting the declaration's proof.
    expect(await uploader.uploadAll(1)).toBe(2);
    expect(state.declared).toEqual([{ firstSeq: 2, lastSeq: 4, reason: 'bucket-disposed' }]);
    expect(state.posted).toHaveLength(2);
    expect(state.posted[1]).toBe(state.posted[0]);
    expect(state.stored).toEqual([0, 1, 5, 6]);
    expect(uploadedThrough(store)).toBe(6);
    expect(queued(store)).toEqual(before);
    expect(declaredGaps(store)).toEqual([]);
    expect(status().gapsAwaitingProof).toEqual([
      {
        ...{ firstSeq: 2, lastSeq: 4, reason: 'bucket-disposed', logIndex: 2 },
        ...{ acceptedAt: NOW, waitedMs: 0, overdue: false },
      },
    ]);

    // The proof pass proves the records' entries and the declaration's: only now does the
    // run leave the queue, noted declared.
    expect(await prove()).toEqual({ verified: 5, waiting: 0, unlogged: 0 });
    expect(queued(store)).toEqual([]);
    expect(declaredGaps(store)).toEqual([
      { firstSeq: 2, lastSeq: 4, reason: 'bucket-disposed', logIndex: 2 },
    ]);
    expect(pendingGapProofs(store)).toEqual([]);
    expect(status().gapsAwaitingProof).toEqual([]);
    // Capture goes on after the chain as it was (the dropped records stay part of it).
    await capture.capture(body(7));
    expect(loadChain(store).nextSeq).toBe(8);
    expect(await uploader.uploadAll(1)).toBe(1);
    expect(state.stored).toEqual([0, 1, 5, 6, 7]);
    close();
  });

  it('keeps the run queued while the log lacks the declaration the server accepted: checked once a round, not waited for after GAP_PROOF_WAIT_MS, overdue after GAP_PROOF_OVERDUE_MS', async () => {
    const { store, capture, uploader, prove, status, clock, close, state } = await device();
    for (let i = 0; i < 3; i++) await capture.capture(body(i));
    disposeB1(store);
    state.gapEntry = 'unlogged';
    expect(await uploader.uploadAll(1)).toBe(0);
    expect(state.declared).toEqual([{ firstSeq: 0, lastSeq: 2, reason: 'bucket-disposed' }]);
    // Capture and upload go on after the run (the server chains on from the declaration).
    await putBucket(store, 'b2');
    await capture.capture(body(3));
    expect(await uploader.uploadAll(1)).toBe(1);
    expect(state.stored).toEqual([3]);
    const run = { firstSeq: 0, lastSeq: 2, reason: 'bucket-disposed', logIndex: 1_000_000 };
    const kept = [
      [0, 'b1'],
      [1, 'b1'],
      [2, 'b1'],
    ];
    // Record 3's receipt verifies; the declaration's never does. Just accepted, it is worth
    // waiting for (an honest server logs it at once): not `unlogged`.
    expect(await prove()).toEqual({ verified: 1, waiting: 1, unlogged: 0 });
    expect(status().gapsAwaitingProof).toEqual([{ ...run, acceptedAt: NOW, waitedMs: 0, overdue: false }]);
    // GAP_PROOF_WAIT_MS later it is not worth waiting for (custos sync moves on), but each
    // round still checks it, once.
    state.receiptsAsked.length = 0;
    clock.now = NOW + GAP_PROOF_WAIT_MS;
    for (let round = 1; round <= 2; round++) {
      expect(await prove()).toEqual({ verified: 0, waiting: 1, unlogged: 1 });
      expect(state.receiptsAsked).toEqual(Array<number>(round).fill(1_000_000));
    }
    expect(status().gapsAwaitingProof).toEqual([
      { ...run, acceptedAt: NOW, waitedMs: GAP_PROOF_WAIT_MS, overdue: false },
    ]);
    // GAP_PROOF_OVERDUE_MS after its acceptance it is reported overdue: the server may be
    // withholding it. The records stay queued all the same — nothing leaves without proof.
    clock.now = NOW + GAP_PROOF_OVERDUE_MS;
    expect(await prove()).toEqual({ verified: 0, waiting: 1, unlogged: 1 });
    const overdue = status();
    expect(overdue.gapsAwaitingProof).toEqual([
      { ...run, acceptedAt: NOW, waitedMs: GAP_PROOF_OVERDUE_MS, overdue: true },
    ]);
    expect(overdue.queued).toBe(3);
    expect(queued(store)).toEqual(kept);
    expect(declaredGaps(store)).toEqual([]);

    // A declaration an older client accepted carries no time: never overdue on no evidence;
    // the first round that finds it unlogged starts its wait.
    const [accepted] = pendingGapProofs(store);
    const { acceptedAt: _, ...older } = accepted!;
    store.transaction(() => putPendingGap(store, older));
    clock.now = NOW + 10 * GAP_PROOF_OVERDUE_MS;
    expect(status().gapsAwaitingProof).toEqual([
      { ...run, acceptedAt: undefined, waitedMs: undefined, overdue: false },
    ]);
    expect(await prove()).toEqual({ verified: 0, waiting: 1, unlogged: 0 });
    const since = clock.now;
    clock.now = since + GAP_PROOF_OVERDUE_MS;
    expect(status().gapsAwaitingProof).toEqual([
      { ...run, acceptedAt: since, waitedMs: GAP_PROOF_OVERDUE_MS, overdue: true },
    ]);
    expect(queued(store)).toEqual(kept);
    close();
  });

  it('refuses a log entry that is not exactly its declaration (RECEIPT_INVALID, records kept), then drops the run on the right one', async () => {
    const { store, capture, uploader, prove, close, state } = await device();
    for (let i = 0; i < 3; i++) await capture.capture(body(i));
    disposeB1(store);
    let logged: GapEntry | undefined;
    state.gapEntry = (e) => {
      logged = e;
      return { ...e, end: e.end + 1 };
    };
    expect(await uploader.uploadAll(1)).toBe(0);
    const lies: ((e: GapEntry) => LogEntry)[] = [
      (e) => ({ ...e, end: e.end + 1 }), // another run
      (e) => ({ ...e, reason: 'device-lost' }), // another reason
      (e) => ({ ...e, hash: new Uint8Array(32).fill(7) }), // another document
      (e) => ({ ...e, size: e.size + 1 }),
      (e) => ({ ...e, device: 'x'.repeat(22) as GapEntry['device'], actor: 'x'.repeat(22) }), // another device
      (e) => ({
        type: 'archive-record',
        ...{ hash: e.hash, size: e.size, actor: e.actor, time: e.time, org: e.org, device: e.device },
        seq: e.seq,
        bucket: 'b1' as Extract<LogEntry, { type: 'archive-record' }>['bucket'],
      }),
    ];
    for (const lie of lies) {
      state.log[0] = encodeLogEntry(lie(logged!));
      await expect(prove()).rejects.toMatchObject({
        code: 'RECEIPT_INVALID',
        message: expect.stringContaining('is not the archive-gap entry'),
      });
      expect(queued(store)).toHaveLength(3);
      expect(declaredGaps(store)).toEqual([]);
    }
    state.log[0] = encodeLogEntry(logged!);
    expect(await prove()).toEqual({ verified: 1, waiting: 0, unlogged: 0 });
    expect(queued(store)).toEqual([]);
    expect(declaredGaps(store)).toEqual([
      { firstSeq: 0, lastSeq: 2, reason: 'bucket-disposed', logIndex: 0 },
    ]);
    // Capture then continues after the declared run.
    await putBucket(store, 'b2');
    await capture.capture(body(3));
    expect(await uploader.uploadAll(1)).toBe(1);
    expect(state.stored).toEqual([3]);
    close();
  });
});
