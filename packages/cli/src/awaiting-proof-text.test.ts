import { GAP_PROOF_OVERDUE_MS, type AwaitingBatchProof, type AwaitingGapProof } from '@custos/client';
import { describe, expect, it } from 'vitest';
import {
  elapsedText,
  overdueBatches,
  overdueBatchText,
  overdueGaps,
  overdueGapText,
} from './awaiting-proof-text.js';

const ACCEPTED = Date.UTC(2030, 0, 15);
const run = { firstSeq: 7, lastSeq: 8, reason: 'bucket-disposed', logIndex: 50 };

describe('overdue declarations and record batches', () => {
  it('names the run, when the server accepted it and how long its entry has been missing', () => {
    const waitedMs = GAP_PROOF_OVERDUE_MS + 25 * 60_000;
    const gaps: AwaitingGapProof[] = [
      { ...run, acceptedAt: ACCEPTED, lastMissingAt: ACCEPTED + waitedMs, waitedMs, overdue: true },
      {
        ...run,
        firstSeq: 9,
        lastSeq: 9,
        acceptedAt: ACCEPTED,
        lastMissingAt: ACCEPTED + 1000,
        waitedMs: 1000,
        overdue: false,
      },
      {
        ...run,
        firstSeq: 10,
        lastSeq: 10,
        acceptedAt: undefined,
        lastMissingAt: undefined,
        waitedMs: undefined,
        overdue: false,
      },
    ];
    const overdue = overdueGaps(gaps);
    expect(overdue).toEqual([gaps[0]]);
    expect(overdueGapText(overdue[0]!)).toBe(
      'records 7–8 (bucket-disposed, log 50) accepted at 2030-01-15T00:00:00Z, not in the log after 1h 25m: ' +
        'the server may be withholding it',
    );
  });

  it('names the records of an overdue batch, when the server acknowledged it and how long they have been missing', () => {
    const waitedMs = GAP_PROOF_OVERDUE_MS + 5 * 60_000;
    const batches: AwaitingBatchProof[] = [
      {
        firstSeq: 0,
        lastSeq: 999,
        acknowledgedAt: ACCEPTED,
        lastMissingAt: ACCEPTED + waitedMs,
        waitedMs,
        overdue: true,
      },
      {
        firstSeq: 1000,
        lastSeq: 1000,
        acknowledgedAt: ACCEPTED,
        lastMissingAt: ACCEPTED + waitedMs,
        waitedMs,
        overdue: true,
      },
      {
        firstSeq: 1001,
        lastSeq: 1001,
        acknowledgedAt: ACCEPTED,
        lastMissingAt: ACCEPTED + 1000,
        waitedMs: 1000,
        overdue: false,
      },
      {
        firstSeq: 1002,
        lastSeq: 1002,
        acknowledgedAt: undefined,
        lastMissingAt: undefined,
        waitedMs: undefined,
        overdue: false,
      },
    ];
    const overdue = overdueBatches(batches);
    expect(overdue).toEqual(batches.slice(0, 2));
    expect(overdue.map(overdueBatchText)).toEqual([
      'records 0–999 acknowledged at 2030-01-15T00:00:00Z, not in the log after 1h 5m: the server may be withholding them',
      'record 1000 acknowledged at 2030-01-15T00:00:00Z, not in the log after 1h 5m: the server may be withholding it',
    ]);
  });

  it('says how long in its two largest units', () => {
    expect(elapsedText(0)).toBe('0s');
    expect(elapsedText(40_500)).toBe('40s');
    expect(elapsedText(12 * 60_000 + 5_000)).toBe('12m 5s');
    expect(elapsedText(3_600_000)).toBe('1h');
    expect(elapsedText(3 * 86_400_000 + 4 * 3_600_000 + 59 * 60_000)).toBe('3d 4h');
    expect(elapsedText(3 * 86_400_000 + 5 * 60_000)).toBe('3d');
  });
});
