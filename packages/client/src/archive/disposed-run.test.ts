/**
 * The upload past records sealed to a disposed bucket (uploader.ts, chain-recovery.ts
 * disposedRun, gap-proofs.ts): once everything before them is acknowledged the device
 * declares the run lost (`bucket-disposed`) and uploads on in the same round once the server
 * has accepted the declaration, but drops exactly those records only once the declaration's
 * archive-gap entry is proven in the log (proofs.ts); a declaration that fails changes
 * nothing, a log without the entry keeps them waiting — checked once a round, not waited for
 * after GAP_PROOF_WAIT_MS, reported overdue once a round finds it missing
 * GAP_PROOF_OVERDUE_MS after the acceptance (the device's clock alone is no evidence) —
 * another entry is RECEIPT_INVALID.
 * The server is played by a fetch that checks what a real one checks of the chain (batch
 * order and links, the declaration's signature and position) and serves a signed log of its
 * entries; its own acceptance rules are tested in
 * packages/server/src/archive/archive-gaps.test.ts and end to end in
 * test/officer-disposition.test.ts.
 */
import { encodeLogEntry, type LogEntry } from '@custos/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalStore } from '../store/local-store.js';
import {
  TEST_NOW as NOW,
  putTestBucket as putBucket,
  TempStores,
  testBody as body,
} from './archive-test-support.js';
import { loadChain } from './capture.js';
import { declaredGaps } from './chain-recovery.js';
import { chainDevice, queued, type GapEntry } from './chain-server-test-support.js';
import { noteDisposedBucket } from './disposed-buckets.js';
import { GAP_PROOF_OVERDUE_MS, GAP_PROOF_WAIT_MS, pendingGapProofs, putPendingGap } from './gap-proofs.js';
import { uploadedThrough } from './uploader.js';

const stores = new TempStores();
afterEach(() => stores.removeAll());
const device = (batchRecords?: number) => chainDevice(stores, batchRecords);

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
        ...{ acceptedAt: NOW, lastMissingAt: undefined, waitedMs: undefined, overdue: false },
      },
    ]);

    // The proof pass proves the records' entries and the declaration's: only now does the
    // run leave the queue, noted declared.
    expect(await prove()).toEqual({
      verified: 5,
      waiting: 0,
      unlogged: 0,
      unloggedBatches: 0,
      unloggedRecords: 0,
    });
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
    expect(state.violations).toEqual([]);
    close();
  });

  /**
   * A device with `n` records sealed to the disposed bucket b1, whose upload declared them
   * lost to a server that accepts the declaration and does not log it.
   */
  const declaredUnlogged = async (n: number) => {
    const d = await device();
    for (let i = 0; i < n; i++) await d.capture.capture(body(i));
    disposeB1(d.store);
    d.state.gapEntry = 'unlogged';
    expect(await d.uploader.uploadAll(1)).toBe(0);
    return d;
  };

  it('keeps the run queued while the log lacks the declaration the server accepted: checked once a round, not waited for after GAP_PROOF_WAIT_MS, overdue after GAP_PROOF_OVERDUE_MS', async () => {
    const { store, capture, uploader, prove, status, clock, close, state } = await declaredUnlogged(3);
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
    // waiting for (an honest server's next checkpoint covers it within about 250 ms): not `unlogged`.
    expect(await prove()).toEqual({
      verified: 1,
      waiting: 1,
      unlogged: 0,
      unloggedBatches: 0,
      unloggedRecords: 0,
    });
    /** The declaration, last found missing `waitedMs` after its acceptance at `acceptedAt`. */
    const awaiting = (acceptedAt: number | undefined, waitedMs: number | undefined, overdue: boolean) => [
      {
        ...{ ...run, acceptedAt, waitedMs, overdue },
        lastMissingAt: acceptedAt === undefined || waitedMs === undefined ? undefined : acceptedAt + waitedMs,
      },
    ];
    expect(status().gapsAwaitingProof).toEqual(awaiting(NOW, 0, false));
    // GAP_PROOF_WAIT_MS later it is not worth waiting for (custos sync moves on), but each
    // round still checks it, once.
    state.receiptsAsked.length = 0;
    clock.now = NOW + GAP_PROOF_WAIT_MS;
    for (let round = 1; round <= 2; round++) {
      expect(await prove()).toEqual({
        verified: 0,
        waiting: 1,
        unlogged: 1,
        unloggedBatches: 0,
        unloggedRecords: 0,
      });
      expect(state.receiptsAsked).toEqual(Array<number>(round).fill(1_000_000));
    }
    expect(status().gapsAwaitingProof).toEqual(awaiting(NOW, GAP_PROOF_WAIT_MS, false));
    // The device's clock alone is no evidence: with no round since (a laptop asleep), it is
    // not overdue however late it is.
    clock.now = NOW + 2 * GAP_PROOF_OVERDUE_MS;
    expect(status().gapsAwaitingProof).toEqual(awaiting(NOW, GAP_PROOF_WAIT_MS, false));
    // A round that finds it missing GAP_PROOF_OVERDUE_MS after its acceptance has it reported
    // overdue: the server may be withholding it. The records stay queued all the same —
    // nothing leaves without proof.
    clock.now = NOW + GAP_PROOF_OVERDUE_MS;
    expect(await prove()).toEqual({
      verified: 0,
      waiting: 1,
      unlogged: 1,
      unloggedBatches: 0,
      unloggedRecords: 0,
    });
    const overdue = status();
    expect(overdue.gapsAwaitingProof).toEqual(awaiting(NOW, GAP_PROOF_OVERDUE_MS, true));
    expect(overdue.queued).toBe(3);
    expect(queued(store)).toEqual(kept);
    expect(declaredGaps(store)).toEqual([]);

    // A declaration an older client accepted carries no time: never overdue on no evidence;
    // the first round that finds it unlogged starts its wait.
    const [accepted] = pendingGapProofs(store);
    const { acceptedAt: _, lastMissingAt: __, ...older } = accepted!;
    store.transaction(() => putPendingGap(store, older));
    clock.now = NOW + 10 * GAP_PROOF_OVERDUE_MS;
    expect(status().gapsAwaitingProof).toEqual(awaiting(undefined, undefined, false));
    expect(await prove()).toEqual({
      verified: 0,
      waiting: 1,
      unlogged: 0,
      unloggedBatches: 0,
      unloggedRecords: 0,
    });
    const since = clock.now;
    expect(status().gapsAwaitingProof).toEqual(awaiting(since, 0, false));
    clock.now = since + GAP_PROOF_OVERDUE_MS;
    expect((await prove()).unlogged).toBe(1);
    expect(status().gapsAwaitingProof).toEqual(awaiting(since, GAP_PROOF_OVERDUE_MS, true));
    expect(queued(store)).toEqual(kept);
    expect(state.violations).toEqual([]);
    close();
  });

  it('takes no evidence from a round whose log reads are throttled: a declaration it could not check is not made overdue', async () => {
    const { prove, status, clock, close, state } = await declaredUnlogged(2);
    expect((await prove()).waiting).toBe(1); // found missing at NOW
    const found = { firstSeq: 0, lastSeq: 1, lastMissingAt: NOW, waitedMs: 0, overdue: false };
    expect(status().gapsAwaitingProof).toEqual([expect.objectContaining(found)]);
    // Two hours on, the log's read routes are throttled: the round checks nothing (still
    // counted unlogged, being older than GAP_PROOF_WAIT_MS), and is no evidence either way.
    clock.now = NOW + 2 * GAP_PROOF_OVERDUE_MS;
    state.receiptsThrottled = true;
    expect(await prove()).toMatchObject({ verified: 0, waiting: 1, unlogged: 1 });
    expect(status().gapsAwaitingProof).toEqual([expect.objectContaining(found)]);
    // The next round that can read the log and finds it missing is.
    state.receiptsThrottled = false;
    expect(await prove()).toMatchObject({ verified: 0, waiting: 1, unlogged: 1 });
    expect(status().gapsAwaitingProof).toEqual([
      expect.objectContaining({
        lastMissingAt: clock.now,
        waitedMs: 2 * GAP_PROOF_OVERDUE_MS,
        overdue: true,
      }),
    ]);
    expect(state.violations).toEqual([]);
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
    expect(await prove()).toEqual({
      verified: 1,
      waiting: 0,
      unlogged: 0,
      unloggedBatches: 0,
      unloggedRecords: 0,
    });
    expect(queued(store)).toEqual([]);
    expect(declaredGaps(store)).toEqual([
      { firstSeq: 0, lastSeq: 2, reason: 'bucket-disposed', logIndex: 0 },
    ]);
    // Capture then continues after the declared run.
    await putBucket(store, 'b2');
    await capture.capture(body(3));
    expect(await uploader.uploadAll(1)).toBe(1);
    expect(state.stored).toEqual([3]);
    expect(state.violations).toEqual([]);
    close();
  });
});

describe('the server chainServer plays', () => {
  it('refuses a batch that breaks the chain with the real code, storing nothing, and notes it for the test to assert', async () => {
    const { capture, uploader, close, state } = await device();
    for (let i = 0; i < 2; i++) await capture.capture(body(i));
    const genesis = state.head;
    for (const [head, code, violation] of [
      [{ seq: 4, hash: genesis.hash }, 'ARCHIVE_SEQUENCE_GAP', 'record 0 posted, expected 5'],
      [{ seq: -1, hash: new Uint8Array(32).fill(1) }, 'ARCHIVE_FORK', 'record 0 does not link to record -1'],
    ] as const) {
      state.head = head;
      state.violations.length = 0;
      // Refused as such, not taken for a network failure (retried, or swallowed by a caller).
      await expect(uploader.uploadAll(1)).rejects.toMatchObject({
        code: 'ARCHIVE_UPLOAD_FAILED',
        server: { code },
      });
      expect(state.violations).toEqual([violation]);
      expect(state.stored).toEqual([]);
      expect(state.head).toBe(head);
    }
    state.head = genesis;
    state.violations.length = 0;
    expect(await uploader.uploadAll(1)).toBe(2);
    expect(state.stored).toEqual([0, 1]);
    expect(state.violations).toEqual([]);
    close();
  });
});
