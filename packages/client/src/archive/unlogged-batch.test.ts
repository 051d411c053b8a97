/**
 * A record batch the server acknowledges but never logs (proofs.ts, upload-rows.ts): the
 * device keeps when each batch was acknowledged (its clock; a row an older client wrote gets
 * the time of the first pass that finds it unlogged), checks its records once a round, does
 * not count it worth waiting for GAP_PROOF_WAIT_MS after the acknowledgement (so `custos
 * sync` moves on), reports it overdue once a round finds it missing GAP_PROOF_OVERDUE_MS
 * after (never on its clock alone), and keeps its records queued all the while. The server is played by `chainServer`, answering log indexes its log
 * never fills; the sync that stops waiting is tested end to end in
 * test/officer-disposition.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_NOW as NOW, TempStores, testBody as body } from './archive-test-support.js';
import { chainDevice, queued } from './chain-server-test-support.js';
import { GAP_PROOF_OVERDUE_MS, GAP_PROOF_WAIT_MS } from './gap-proofs.js';
import { PROOF_BATCH } from './proofs.js';
import { decodeUploadedBatch, encodeUploadedBatch } from './upload-rows.js';
import { UPLOAD_BATCH_RECORDS } from './uploader.js';

const stores = new TempStores();
afterEach(() => stores.removeAll());

/** A round's result with nothing declared lost. */
const round = (verified: number, waiting: number, unloggedBatches: number, unloggedRecords: number) => ({
  verified,
  waiting,
  unlogged: 0,
  unloggedBatches,
  unloggedRecords,
});

describe('a record batch the server acknowledges but never logs', () => {
  it('is checked once a round, not waited for after GAP_PROOF_WAIT_MS, overdue after GAP_PROOF_OVERDUE_MS; its records stay queued', async () => {
    const { store, capture, uploader, prove, status, clock, close, state } = await chainDevice(stores, 2);
    for (let i = 0; i < 3; i++) await capture.capture(body(i));
    state.batchEntries = 'unlogged';
    expect(await uploader.uploadAll()).toBe(3); // batches 0–1 and 2, acknowledged at NOW
    const kept = [
      [0, 'b1'],
      [1, 'b1'],
      [2, 'b1'],
    ];
    /** Both batches, acknowledged `at`, last found missing at `at + waitedMs`. */
    const awaiting = (at: number | undefined, waitedMs: number | undefined, overdue: boolean) => {
      const lastMissingAt = at === undefined || waitedMs === undefined ? undefined : at + waitedMs;
      return [
        { firstSeq: 0, lastSeq: 1, acknowledgedAt: at, lastMissingAt, waitedMs, overdue },
        { firstSeq: 2, lastSeq: 2, acknowledgedAt: at, lastMissingAt, waitedMs, overdue },
      ];
    };
    // Acknowledged, not checked yet: no wait to show.
    expect(status().batchesAwaitingProof).toEqual(awaiting(NOW, undefined, false));
    // Just acknowledged, they are worth waiting for (an honest server's next checkpoint
    // covers them within about 250 ms).
    expect(await prove()).toEqual(round(0, 3, 0, 0));
    expect(status().batchesAwaitingProof).toEqual(awaiting(NOW, 0, false));

    // GAP_PROOF_WAIT_MS later they are not (custos sync moves on), but each round still asks
    // for each batch's first missing record, once.
    clock.now = NOW + GAP_PROOF_WAIT_MS;
    state.receiptsAsked.length = 0;
    for (let r = 1; r <= 2; r++) {
      expect(await prove()).toEqual(round(0, 3, 2, 3));
      expect(state.receiptsAsked).toHaveLength(2 * r);
    }
    expect(status().batchesAwaitingProof).toEqual(awaiting(NOW, GAP_PROOF_WAIT_MS, false));
    // A batch acknowledged now and logged is proven and waited for as ever; the unlogged
    // ones are all that is left.
    state.batchEntries = 'logged';
    await capture.capture(body(3));
    expect(await uploader.uploadAll()).toBe(1);
    expect(await prove()).toEqual(round(1, 3, 2, 3));

    // GAP_PROOF_OVERDUE_MS after the acknowledgement they are overdue: the server may be
    // withholding them. The records stay queued all the same — nothing leaves without proof.
    clock.now = NOW + GAP_PROOF_OVERDUE_MS;
    expect(await prove()).toEqual(round(0, 3, 2, 3));
    const overdue = status();
    expect(overdue.batchesAwaitingProof).toEqual(awaiting(NOW, GAP_PROOF_OVERDUE_MS, true));
    expect(overdue.queued).toBe(3);
    expect(queued(store)).toEqual(kept);

    // A row an older client wrote carries no time: never overdue on no evidence, nor
    // skipped; the first round that finds it unlogged starts its wait (and writes it anew).
    const [first] = store.list('archive-uploads');
    const { acknowledgedAt: _, lastMissingAt: __, ...older } = decodeUploadedBatch(first!.value);
    store.put('archive-uploads', first!.key, encodeUploadedBatch(older), first!.ord);
    clock.now = NOW + 10 * GAP_PROOF_OVERDUE_MS;
    expect(status().batchesAwaitingProof[0]).toEqual(awaiting(undefined, undefined, false)[0]);
    expect(await prove()).toEqual(round(0, 3, 1, 1));
    const since = clock.now;
    expect(decodeUploadedBatch(store.get('archive-uploads', first!.key)!)).toMatchObject({
      acknowledgedAt: since,
      lastMissingAt: since,
    });
    clock.now = since + GAP_PROOF_OVERDUE_MS;
    expect(await prove()).toEqual(round(0, 3, 2, 3));
    expect(status().batchesAwaitingProof[0]).toEqual(awaiting(since, GAP_PROOF_OVERDUE_MS, true)[0]);
    expect(queued(store)).toEqual(kept);
    expect(state.violations).toEqual([]);
    close();
  });

  it('is overdue only once a round finds it missing GAP_PROOF_OVERDUE_MS after the acknowledgement, not on the device clock alone', async () => {
    const { capture, uploader, prove, status, clock, close, state } = await chainDevice(stores);
    await capture.capture(body(0));
    state.batchEntries = 'unlogged';
    expect(await uploader.uploadAll()).toBe(1);
    // `custos sync --no-wait`: one round finds it not in the log yet (the checkpoint may
    // not have caught up) ...
    expect(await prove()).toEqual(round(0, 1, 0, 0));
    const found = { firstSeq: 0, lastSeq: 0, acknowledgedAt: NOW, lastMissingAt: NOW };
    expect(status().batchesAwaitingProof).toEqual([{ ...found, waitedMs: 0, overdue: false }]);
    // ... then the laptop sleeps two hours: nothing says the server did not log it meanwhile.
    clock.now = NOW + 2 * GAP_PROOF_OVERDUE_MS;
    expect(status().batchesAwaitingProof).toEqual([{ ...found, waitedMs: 0, overdue: false }]);
    // A round two hours after the acknowledgement that finds it missing is the evidence.
    expect(await prove()).toEqual(round(0, 1, 1, 1));
    expect(status().batchesAwaitingProof).toEqual([
      { ...found, lastMissingAt: clock.now, waitedMs: 2 * GAP_PROOF_OVERDUE_MS, overdue: true },
    ]);
    expect(state.violations).toEqual([]);
    close();
  });

  it('costs a round one receipt request, not one per record, and leaves the round its PROOF_BATCH requests for a logged batch after it', async () => {
    const { store, uploader, capture, prove, status, clock, close, state } = await chainDevice(stores);
    // More records withheld than a round asks receipts for, in batches of UPLOAD_BATCH_RECORDS.
    const withheld = PROOF_BATCH + 1;
    await capture.prepare();
    store.transaction(() => {
      for (let i = 0; i < withheld; i++) capture.captureSync(body(i));
    });
    expect(await capture.sealPending()).toBe(withheld);
    state.batchEntries = 'unlogged';
    expect(await uploader.uploadAll()).toBe(withheld);
    state.batchEntries = 'logged';
    for (let i = 0; i < 3; i++) await capture.capture(body(withheld + i));
    expect(await uploader.uploadAll()).toBe(3);
    const firstOfEach = [0, UPLOAD_BATCH_RECORDS, 2 * UPLOAD_BATCH_RECORDS].map((i) => 2_000_000 + i);
    clock.now = NOW + GAP_PROOF_WAIT_MS;
    for (let r = 0; r < 2; r++) {
      state.receiptsAsked.length = 0;
      // The logged batch is proven whole in the first round; every record withheld is still
      // counted unlogged with its batch, and stays queued.
      expect(await prove()).toEqual(round(r === 0 ? 3 : 0, withheld, 3, withheld));
      expect(state.receiptsAsked).toEqual(r === 0 ? [...firstOfEach, 0, 1, 2] : firstOfEach);
    }
    expect(status().queued).toBe(withheld);
    expect(state.violations).toEqual([]);
    close();
  });
});
