import { LeafDigest, type DispositionPlan, type LogEntry } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { analyseCompleteness, type CompletenessInput, type ServedRecords } from './completeness-findings.js';
import type { OfficerSession } from '../officer-session.js';
import {
  accountDisposed,
  entriesMismatch,
  readDispositions,
  type CertifiedDisposition,
} from './disposed-records.js';
import type { IndexedEntry, VerifiedLog } from './verified-log.js';

const ORG = 'org-1';
const HOUR = 3_600_000;
const NOW = 1_000 * HOUR;
const h = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const hex = (n: number): string => Buffer.from(h(n)).toString('hex');

function record(device: string, seq: number, bucket: string, time: number): LogEntry {
  return {
    type: 'archive-record',
    org: ORG as never,
    device: device as never,
    seq,
    bucket: bucket as never,
    hash: h(seq),
    size: 10,
    actor: device,
    time,
  };
}
function receipt(n: number, time: number): LogEntry {
  return {
    type: 'relay-receipt',
    sender: 'A' as never,
    recipient: 'B' as never,
    hash: h(n),
    size: 10,
    actor: 'A',
    time,
  };
}
const enrolled = (device: string): LogEntry => ({
  type: 'key-event',
  kind: 'device-enrolled',
  subject: device,
  hash: h(0),
  size: 1,
  actor: 'admin',
  time: HOUR,
});

/**
 * The log: A and B archive into bucket `old` (A 0, B 0, A 1, B 1) around a relay receipt of
 * envelope 50, then into bucket `new` (A 2, B 2).
 */
const LOG: IndexedEntry[] = [
  enrolled('A'),
  enrolled('B'),
  record('A', 0, 'old', 10 * HOUR),
  receipt(50, 10 * HOUR),
  record('B', 0, 'old', 10 * HOUR),
  record('A', 1, 'old', 11 * HOUR),
  record('B', 1, 'old', 11 * HOUR),
  record('A', 2, 'new', 20 * HOUR),
  record('B', 2, 'new', 20 * HOUR),
].map((entry, index) => ({ index, entry }));

const leaves = (indexes: number[]): Uint8Array => {
  const d = new LeafDigest();
  for (const i of indexes) d.add(i);
  return d.digest();
};

/** A verified disposition of bucket `old` over `span`, approving `disposed`, with the server's `held` list. */
function disposition(
  logIndex: number,
  span: [number, number],
  disposed: number[],
  held: number[],
  over: Partial<CertifiedDisposition> = {},
): CertifiedDisposition {
  const plan: DispositionPlan = {
    orgId: ORG,
    asOf: NOW,
    madeAt: NOW,
    buckets: [
      {
        bucketId: 'old',
        retentionClass: 'transitory',
        period: '2026-01',
        expiresAt: NOW,
        records: disposed.length,
        held: held.length,
        span,
        leaves: leaves(disposed),
      },
    ],
  };
  return {
    certificateHash: hex(logIndex),
    logIndex,
    entries: [{ bucketId: 'old', records: disposed.length }],
    planId: 'p'.repeat(64),
    plan,
    certificate: {
      orgId: ORG,
      planHash: h(1),
      executedAt: NOW,
      approvals: [],
      buckets: [
        { bucketId: 'old', records: disposed.length, held: held.length, keysDestroyed: held.length === 0 },
      ],
    },
    approvers: [0, 1],
    heldLeaves: new Map([['old', held]]),
    problem: null,
    ...over,
  };
}

const served = (seqs: number[], envs: number[] = []): ServedRecords => ({
  fromSeq: 0,
  seqs: new Set(seqs),
  envelopeHashes: new Set(envs.map(hex)),
  incomplete: false,
});

function input(over: Partial<CompletenessInput>): CompletenessInput {
  return {
    orgId: ORG,
    entries: LOG,
    served: new Map(),
    serverGaps: [],
    invalid: [],
    policy: { silentAfterMs: 10_000 * HOUR, receiptGraceMs: 0 },
    now: NOW,
    since: 0,
    ...over,
  };
}

describe('records disposed of under verified dispositions', () => {
  it('are neither gaps nor unarchived receipts; held records around them stay checked', () => {
    // Leaves 2, 4 and 6 disposed; A's record 1 (leaf 5) held.
    const disposed = accountDisposed(ORG, LOG, [disposition(9, [2, 6], [2, 4, 6], [5])]);
    expect(disposed.byDevice).toEqual(
      new Map([
        ['A', new Map([[0, 10 * HOUR]])],
        [
          'B',
          new Map([
            [0, 10 * HOUR],
            [1, 11 * HOUR],
          ]),
        ],
      ]),
    );
    expect(disposed.dispositions).toEqual([
      expect.objectContaining({
        records: 3,
        problem: null,
        buckets: [
          expect.objectContaining({ bucketId: 'old', approved: 3, certified: 3, held: 1, problem: null }),
        ],
      }),
    ]);
    const honest = input({
      served: new Map([
        ['A', served([1, 2])],
        ['B', served([2])],
      ]),
      // The server's own table has the holes too (its LAG query knows nothing of dispositions).
      serverGaps: [
        { deviceId: 'A', from: 0, to: 0 },
        { deviceId: 'B', from: 0, to: 1 },
      ],
    });
    expect(analyseCompleteness({ ...honest, disposed })).toEqual([]);
    // Without the dispositions: every disposed record a gap, the receipt unarchived twice.
    expect(analyseCompleteness(honest).map((f) => f.kind)).toEqual([
      'gap',
      'gap',
      'unmatched-receipt',
      'unmatched-receipt',
    ]);
  });

  it('still finds a record no plan approved that the server no longer serves, and receipts outside the disposed time', () => {
    const disposed = accountDisposed(ORG, LOG, [disposition(9, [2, 6], [2, 4, 6], [5])]);
    const entries = [...LOG, { index: LOG.length, entry: receipt(51, 30 * HOUR) }];
    // A's held record 1 and B's live record 2 are gone too.
    const findings = analyseCompleteness(
      input({
        entries,
        served: new Map([
          ['A', served([2])],
          ['B', served([])],
        ]),
        serverGaps: [
          { deviceId: 'A', from: 0, to: 1 },
          { deviceId: 'B', from: 0, to: 1 },
        ],
        disposed,
      }),
    );
    expect(findings).toEqual([
      { kind: 'gap', deviceId: 'A', from: 1, to: 1, evidence: ['not-served', 'server-report'] },
      { kind: 'gap', deviceId: 'B', from: 2, to: 2, evidence: ['not-served'] },
      expect.objectContaining({ kind: 'unmatched-receipt', deviceId: 'A', logIndex: LOG.length }),
      expect.objectContaining({ kind: 'unmatched-receipt', deviceId: 'B', logIndex: LOG.length }),
    ]);
  });

  it('accounts nothing for a bucket whose held list does not give the plan digest: a server cannot call a deleted held record disposed', () => {
    // The plan approved leaves 2, 4, 6; the server deleted held leaf 5 too and leaves it out of its held list.
    const lying = disposition(9, [2, 6], [2, 4, 6], []);
    const disposed = accountDisposed(ORG, LOG, [
      { ...lying, plan: { ...lying.plan!, buckets: [{ ...lying.plan!.buckets[0]!, held: 1 }] } },
    ]);
    expect(disposed.byDevice.size).toBe(0);
    const findings = analyseCompleteness(
      input({
        served: new Map([
          ['A', served([2])],
          ['B', served([2])],
        ]),
        disposed,
      }),
    );
    expect(findings.filter((f) => f.kind === 'gap').map((f) => [f.deviceId, f.from, f.to])).toEqual([
      ['A', 0, 1],
      ['B', 0, 1],
    ]);
    expect(findings.at(-1)).toMatchObject({
      kind: 'unverified-disposition',
      logIndex: 9,
      bucketId: 'old',
      reason: 'the server lists 0 held leaf(s), the plan counts 1',
    });
  });

  it('accounts a bucket disposed in two runs (held records released, then disposed by a later plan)', () => {
    // First plan: leaves 2 and 6 held, 4 and 5 disposed; the second disposes of 2 and 6.
    const first = disposition(9, [2, 6], [4, 5], [2, 6]);
    const second = disposition(12, [2, 6], [2, 6], [], { certificateHash: hex(12) });
    const disposed = accountDisposed(ORG, LOG, [second, first]);
    expect(disposed.dispositions.map((d) => [d.logIndex, d.records, d.problem])).toEqual([
      [9, 2, null],
      [12, 2, null],
    ]);
    expect(
      analyseCompleteness(
        input({
          served: new Map([
            ['A', served([2])],
            ['B', served([2])],
          ]),
          disposed,
        }),
      ),
    ).toEqual([]);
  });

  it('accounts records a hold placed during the execution kept only once a later plan disposed of them', () => {
    // P1 plans leaves 2, 4, 5 with 6 held; a hold placed while it runs keeps A's record 1
    // (leaf 5): the certificate says 2 disposed of. The hold released, P2 disposes of 5 and 6.
    const p1 = disposition(9, [2, 6], [2, 4, 5], [6]);
    const kept: CertifiedDisposition = {
      ...p1,
      entries: [{ bucketId: 'old', records: 2 }],
      certificate: {
        ...p1.certificate!,
        buckets: [{ bucketId: 'old', records: 2, held: 2, keysDestroyed: false }],
      },
    };
    const p2 = disposition(12, [5, 6], [5, 6], [], { certificateHash: hex(12) });
    const servedBy =
      (m: Record<string, number[]>) =>
      (device: string, seq: number): boolean =>
        m[device]?.includes(seq) ?? false;
    // Between the two: leaf 5 is still served, so it is not disposed, and P2's leaves exclude only 2 and 4.
    const between = accountDisposed(ORG, LOG, [kept], servedBy({ A: [1, 2], B: [1, 2] }));
    expect([...between.leaves].sort()).toEqual([2, 4]);
    expect(between.dispositions[0]).toMatchObject({
      records: 2,
      problem: null,
      buckets: [expect.objectContaining({ approved: 3, certified: 2, kept: 1, problem: null })],
    });
    // After P2 (nothing of the bucket served): both verify, nothing is missing.
    const disposed = accountDisposed(ORG, LOG, [kept, p2], servedBy({ A: [2], B: [2] }));
    expect(disposed.dispositions.map((d) => [d.logIndex, d.records, d.problem])).toEqual([
      [9, 2, null],
      [12, 2, null],
    ]);
    expect(
      analyseCompleteness(
        input({
          served: new Map([
            ['A', served([2])],
            ['B', served([2])],
          ]),
          disposed,
        }),
      ),
    ).toEqual([]);
    // Without P2, a kept record gone is no disposal: the certificate counts 2, 3 are gone.
    const lost = accountDisposed(ORG, LOG, [kept], servedBy({ A: [2], B: [2] }));
    expect(lost.byDevice.size).toBe(0);
    expect(lost.dispositions[0]!.buckets[0]!.problem).toBe(
      'the plan approved 3 record(s) and the certificate says 2 were disposed of, yet the server no longer serves 3 of them that no later verified plan disposed of',
    );
  });

  it('takes a certificate only when the log has one disposition entry per certificate bucket, with its count', () => {
    const d = disposition(9, [2, 6], [2, 4, 6], [5]);
    const withNew = {
      ...d.certificate!,
      buckets: [...d.certificate!.buckets, { bucketId: 'new', records: 2, held: 0, keysDestroyed: true }],
    };
    const plan = {
      ...d.plan!,
      buckets: [
        ...d.plan!.buckets,
        { ...d.plan!.buckets[0]!, bucketId: 'new', span: [7, 8] as [number, number] },
      ],
    };
    const both = [
      { bucketId: 'old', records: 3 },
      { bucketId: 'new', records: 2 },
    ];
    expect(entriesMismatch(both, withNew, plan)).toBeNull();
    expect(entriesMismatch([both[0]!], withNew, plan)).toBe(
      "the certificate's bucket new has no disposition entry in the log",
    );
    expect(entriesMismatch([...both, both[1]!], withNew, plan)).toBe(
      "the log's disposition entry for bucket new does not match the certificate",
    );
    expect(entriesMismatch([both[0]!, { bucketId: 'new', records: 1 }], withNew, plan)).toBe(
      "the log's disposition entry for bucket new does not match the certificate",
    );
  });

  it('reports a disposition whose certificate does not verify, and counts its records missing', () => {
    const bad = disposition(9, [2, 6], [2, 4, 6], [5], {
      plan: null,
      certificate: null,
      problem: 'plan pppp: the server serves another certificate than the log commits to',
    });
    const disposed = accountDisposed(ORG, LOG, [bad]);
    expect(disposed.byDevice.size).toBe(0);
    const findings = analyseCompleteness(
      input({
        served: new Map([
          ['A', served([1, 2])],
          ['B', served([2])],
        ]),
        disposed,
      }),
    );
    expect(findings.map((f) => f.kind)).toEqual([
      'gap',
      'gap',
      'unmatched-receipt',
      'unmatched-receipt',
      'unverified-disposition',
    ]);
    expect(findings.at(-1)).toMatchObject({ bucketId: null, reason: bad.problem });
  });
});

describe('reading the dispositions', () => {
  it('refuses an audit listing whose next cursor does not move on, instead of paging it for ever', async () => {
    const disposition: LogEntry = {
      type: 'disposition',
      hash: h(1),
      actor: 'system',
      time: 1,
      bucket: 'b' as never,
      records: 1,
      size: 0,
    };
    const log: VerifiedLog = {
      origin: 'o',
      verifierKey: 'k',
      treeSize: 100,
      checkpoint: '',
      entries: [{ index: 0, entry: disposition }],
    };
    let calls = 0;
    const session = {
      orgId: ORG,
      call: () => {
        calls++;
        return Promise.resolve({ acts: [], next: '5' });
      },
    } as unknown as OfficerSession;
    await expect(readDispositions(session, log)).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
      message: expect.stringContaining('does not move past 5'),
    });
    expect(calls).toBe(2);
  });
});
