import type { LogEntry } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { analyseCompleteness, type CompletenessInput, type ServedRecords } from './completeness-findings.js';
import type { IndexedEntry } from './verified-log.js';

const ORG = 'org-1';
const HOUR = 3_600_000;
const NOW = 1_000 * HOUR;
const h = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const hex = (n: number): string => Buffer.from(h(n)).toString('hex');

function enrolled(device: string, time: number): LogEntry {
  return {
    type: 'key-event',
    kind: 'device-enrolled',
    subject: device,
    hash: h(0),
    size: 1,
    actor: 'admin',
    time,
  };
}
function record(device: string, seq: number, time: number): LogEntry {
  return {
    type: 'archive-record',
    org: ORG as never,
    device: device as never,
    seq,
    bucket: 'b' as never,
    hash: h(seq),
    size: 10,
    actor: device,
    time,
  };
}
function receipt(sender: string, recipient: string, n: number, time: number): LogEntry {
  return {
    type: 'relay-receipt',
    sender: sender as never,
    recipient: recipient as never,
    hash: h(n),
    size: 10,
    actor: sender,
    time,
  };
}
function declared(device: string, from: number, to: number, time: number): LogEntry {
  return {
    type: 'archive-gap',
    org: ORG as never,
    device: device as never,
    seq: from,
    end: to,
    reason: 'server-restored',
    hash: h(99),
    size: 150,
    actor: device,
    time,
  };
}
const indexed = (es: LogEntry[]): IndexedEntry[] => es.map((entry, index) => ({ index, entry }));
const served = (seqs: number[], envs: number[], fromSeq = 0): ServedRecords => ({
  fromSeq,
  seqs: new Set(seqs),
  envelopeHashes: new Set(envs.map(hex)),
  incomplete: false,
});

function input(entries: LogEntry[], over: Partial<CompletenessInput> = {}): CompletenessInput {
  return {
    orgId: ORG,
    entries: indexed(entries),
    served: new Map(),
    serverGaps: [],
    invalid: [],
    policy: { silentAfterMs: 24 * HOUR, receiptGraceMs: HOUR },
    now: NOW,
    since: 0,
    ...over,
  };
}

// A and B (this org) exchange envelopes 50 and 51; X belongs to another org.
const T = NOW - 2 * HOUR;
const base: LogEntry[] = [
  enrolled('A', T - HOUR),
  enrolled('B', T - HOUR),
  receipt('A', 'B', 50, T),
  record('A', 0, T + 1),
  record('B', 0, T + 2),
  receipt('B', 'A', 51, T + 3),
  record('B', 1, T + 4),
  record('A', 1, T + 5),
  receipt('X', 'A', 52, T + 6),
  record('A', 2, T + 7),
];
const allServed = new Map([
  ['A', served([0, 1, 2], [50, 51, 52])],
  ['B', served([0, 1], [50, 51])],
]);

describe('analyseCompleteness', () => {
  it('finds nothing in a complete archive', () => {
    expect(analyseCompleteness(input(base, { served: allServed }))).toEqual([]);
  });

  it('names a sequence number the server no longer serves, and merges the server admitting it', () => {
    const s = new Map(allServed).set('A', served([0, 2], [50, 52]));
    const f = analyseCompleteness(
      input(base, { served: s, serverGaps: [{ deviceId: 'A', from: 1, to: 1 }] }),
    );
    expect(f).toEqual([
      { kind: 'gap', deviceId: 'A', from: 1, to: 1, evidence: ['not-served', 'server-report'] },
      // A's record 1 held envelope 51: that receipt is unarchived for A (not for B).
      {
        kind: 'unmatched-receipt',
        deviceId: 'A',
        logIndex: 5,
        envelopeHash: hex(51),
        sender: 'B',
        recipient: 'A',
        time: T + 3,
      },
    ]);
  });

  it('finds gaps in the log itself, including a chain that does not start at 0', () => {
    const es = [enrolled('C', T), record('C', 2, T), record('C', 3, T), record('C', 6, T)];
    const f = analyseCompleteness(input(es, { served: new Map([['C', served([2, 3, 6], [])]]) }));
    expect(f.map((x) => (x.kind === 'gap' ? [x.from, x.to, x.evidence] : x.kind))).toEqual([
      [0, 1, ['log']],
      [4, 5, ['log']],
    ]);
  });

  it('shows a run the device declared lost as a gap with its declaration, never as complete', () => {
    // C lost 2…4 (declared), then 7 without a word, and has just declared 9…10^15 (no record after yet).
    const es = [
      enrolled('C', T),
      record('C', 0, T),
      record('C', 1, T),
      declared('C', 2, 4, T + 1),
      record('C', 5, T + 2),
      record('C', 6, T + 2),
      record('C', 8, T + 3),
      declared('C', 9, 1e15, T + 4),
    ];
    const f = analyseCompleteness(
      input(es, {
        served: new Map([['C', served([0, 1, 5, 6, 8], [])]]),
        serverGaps: [{ deviceId: 'C', from: 2, to: 4 }],
      }),
    );
    expect(f).toEqual([
      {
        kind: 'gap',
        deviceId: 'C',
        from: 2,
        to: 4,
        evidence: ['declared', 'server-report'],
        declaration: { reason: 'server-restored', logIndex: 3, time: T + 1 },
      },
      { kind: 'gap', deviceId: 'C', from: 7, to: 7, evidence: ['log'] },
      {
        kind: 'gap',
        deviceId: 'C',
        from: 9,
        to: 1e15,
        evidence: ['declared'],
        declaration: { reason: 'server-restored', logIndex: 7, time: T + 4 },
      },
    ]);
  });

  it('reports a receipt without a record only after the grace period, and only for this org', () => {
    const es = [...base, receipt('A', 'B', 60, NOW - HOUR / 2), receipt('A', 'B', 61, NOW - 2 * HOUR)];
    const f = analyseCompleteness(input(es, { served: allServed }));
    expect(f.map((x) => (x.kind === 'unmatched-receipt' ? [x.deviceId, x.envelopeHash] : x.kind))).toEqual([
      ['A', hex(61)],
      ['B', hex(61)],
    ]);
    // X is another org's device: its receipt 52 concerns A only (which archived it).
    expect(
      analyseCompleteness(input(base, { served: new Map(allServed).set('A', served([0, 1, 2], [50, 51])) })),
    ).toMatchObject([{ kind: 'unmatched-receipt', deviceId: 'A', envelopeHash: hex(52) }]);
  });

  it('reports silent devices past the policy; revoked and idle devices are not silent', () => {
    const es = [
      ...base,
      enrolled('D', T - 100 * HOUR),
      receipt('A', 'D', 70, T - 99 * HOUR), // D took part but never archived
      enrolled('E', T - 100 * HOUR), // E never took part (an officer's console device)
    ];
    const s = new Map(allServed).set('A', served([0, 1, 2], [50, 51, 52, 70]));
    const f = analyseCompleteness(input(es, { served: s }));
    expect(f.filter((x) => x.kind === 'silent-device')).toEqual([
      { kind: 'silent-device', deviceId: 'D', lastRecordAt: null, silentForMs: NOW - (T - 100 * HOUR) },
    ]);
    const later = analyseCompleteness(
      input(base, {
        served: allServed,
        now: NOW + 30 * HOUR,
        policy: { silentAfterMs: 24 * HOUR, receiptGraceMs: HOUR },
      }),
    );
    expect(later.map((x) => x.kind === 'silent-device' && x.deviceId)).toEqual(['A', 'B']);
    const revoked: LogEntry = {
      type: 'key-event',
      kind: 'device-revoked',
      subject: 'B',
      hash: h(0),
      size: 1,
      actor: 'admin',
      time: NOW,
    };
    const afterRevoke = analyseCompleteness(
      input([...base, revoked], { served: allServed, now: NOW + 30 * HOUR }),
    );
    expect(afterRevoke.map((x) => x.kind === 'silent-device' && x.deviceId)).toEqual(['A']);
  });

  it("attributes a revoked device's unarchived receipts and late records to its revocation", () => {
    const revoked = (device: string, actor: string, time: number): LogEntry => ({
      type: 'key-event',
      kind: 'device-revoked',
      subject: device,
      hash: h(0),
      size: 1,
      actor,
      time,
    });
    // B received 60 and 61 after its record 1 and was revoked (by admin) before uploading them;
    // a receipt after its revocation is not its to archive.
    const stranded = [
      ...base,
      receipt('A', 'B', 60, T + 8),
      receipt('A', 'B', 61, T + 9),
      revoked('B', 'admin', T + 10),
      receipt('A', 'B', 62, T + 11),
    ];
    const s = new Map(allServed).set('A', served([0, 1, 2], [50, 51, 52, 60, 61, 62]));
    const f = analyseCompleteness(input(stranded, { served: s }));
    expect(f).toEqual([
      expect.objectContaining({
        kind: 'unmatched-receipt',
        deviceId: 'B',
        envelopeHash: hex(60),
        deviceRevokedAt: T + 10,
      }),
      expect.objectContaining({
        kind: 'unmatched-receipt',
        deviceId: 'B',
        envelopeHash: hex(61),
        deviceRevokedAt: T + 10,
      }),
      {
        kind: 'revoked-device',
        deviceId: 'B',
        revokedAt: T + 10,
        revokedLogIndex: base.length + 2,
        revokedBy: 'admin',
        lastSeqBeforeRevocation: 1,
        handedIn: null,
        declaredAfter: [],
        unarchivedReceipts: 2,
      },
    ]);

    // It handed both in during its window: their records are logged after the revocation.
    const handedIn = [...stranded, record('B', 2, T + 20), record('B', 3, T + 21)];
    const s2 = new Map(s).set('B', served([0, 1, 2, 3], [50, 51, 60, 61]));
    expect(analyseCompleteness(input(handedIn, { served: s2 }))).toEqual([
      {
        kind: 'revoked-device',
        deviceId: 'B',
        revokedAt: T + 10,
        revokedLogIndex: base.length + 2,
        revokedBy: 'admin',
        lastSeqBeforeRevocation: 1,
        handedIn: { from: 2, to: 3, count: 2, firstAt: T + 20, lastAt: T + 21 },
        declaredAfter: [],
        unarchivedReceipts: 0,
      },
    ]);
    // The probe's shape: the server's clock stepped back, so the records (and a gap declaration)
    // logged after the revocation are stamped before it. Log order decides: they are handed in,
    // and the finding stays.
    const stepped = [...stranded, record('B', 2, T + 9), record('B', 3, T + 9), declared('B', 4, 4, T + 9)];
    expect(analyseCompleteness(input(stepped, { served: s2 }))).toEqual([
      expect.objectContaining({ kind: 'gap', deviceId: 'B', from: 4, to: 4 }),
      {
        kind: 'revoked-device',
        deviceId: 'B',
        revokedAt: T + 10,
        revokedLogIndex: base.length + 2,
        revokedBy: 'admin',
        lastSeqBeforeRevocation: 1,
        handedIn: { from: 2, to: 3, count: 2, firstAt: T + 9, lastAt: T + 9 },
        declaredAfter: [
          { from: 4, to: 4, reason: 'server-restored', logIndex: stepped.length - 1, time: T + 9 },
        ],
        unarchivedReceipts: 0,
      },
    ]);
    // A device that retired with everything archived leaves nothing to explain.
    expect(analyseCompleteness(input([...base, revoked('B', 'B', T + 10)], { served: allServed }))).toEqual(
      [],
    );
    // With --since after the hand-in, nothing either.
    expect(analyseCompleteness(input(handedIn, { served: s2, since: T + 22 }))).toEqual([]);
  });

  it('with --since, ignores older receipts and gaps closed before it', () => {
    const es = [
      enrolled('C', 0),
      record('C', 0, 10),
      record('C', 2, 20),
      receipt('C', 'C', 80, 15),
      record('C', 4, T),
    ];
    const f = analyseCompleteness(input(es, { since: 100, served: new Map([['C', served([4], [], 4)]]) }));
    expect(f).toEqual([{ kind: 'gap', deviceId: 'C', from: 3, to: 3, evidence: ['log'] }]);
  });

  it('lists invalid records last, by device and sequence', () => {
    const invalid = [
      { kind: 'invalid-record' as const, deviceId: 'B', seq: 1, reason: 'x' },
      { kind: 'invalid-record' as const, deviceId: 'A', seq: 2, reason: 'y' },
    ];
    const f = analyseCompleteness(input(base, { served: allServed, invalid }));
    expect(f.map((x) => x.kind === 'invalid-record' && `${x.deviceId}#${x.seq}`)).toEqual(['A#2', 'B#1']);
  });
});
