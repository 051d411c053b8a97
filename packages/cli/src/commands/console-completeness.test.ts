import type { CompletenessReport } from '@custos/console';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../command-flags.js';
import {
  describeFinding,
  formatDuration,
  humanLines,
  parseDuration,
  parseSince,
  reportJson,
} from './console-completeness.js';

describe('console completeness options', () => {
  it('parses durations and prints them in the largest whole unit', () => {
    expect(parseDuration('grace', '0s')).toBe(0);
    expect(parseDuration('grace', '30m')).toBe(1_800_000);
    expect(parseDuration('silent-after', '7d')).toBe(604_800_000);
    for (const bad of ['', '5', '5x', '-1h', '01h', '1.5h', '1 h', 'h']) {
      expect(() => parseDuration('grace', bad)).toThrow(UsageError);
    }
    expect(formatDuration(604_800_000)).toBe('7d');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(0)).toBe('0s');
  });

  it('prints a declared gap as a gap, with who declared it, why and where it is logged', () => {
    const line = describeFinding({
      id: 'gap/o1/d1/3-5',
      kind: 'gap',
      deviceId: 'd1',
      from: 3,
      to: 5,
      evidence: ['declared', 'server-report'],
      declaration: { reason: 'server-restored', logIndex: 41, time: Date.UTC(2026, 10, 27, 9) },
    });
    expect(line).toBe(
      'GAP       device d1: sequence 3–5 missing (declared, server-report); declared lost by the device ' +
        '(server-restored: the server was restored from an older backup after acknowledging them, ' +
        '2026-11-27T09:00:00Z, log 41) [gap/o1/d1/3-5]',
    );
    // A run sealed to a disposed bucket says so: not records lost by accident.
    const disposed = describeFinding({
      id: 'gap/o1/d1/6-6',
      kind: 'gap',
      deviceId: 'd1',
      from: 6,
      to: 6,
      evidence: ['declared'],
      declaration: { reason: 'bucket-disposed', logIndex: 50, time: Date.UTC(2026, 10, 27, 10) },
    });
    expect(disposed).toBe(
      'GAP       device d1: sequence 6 missing (declared); declared lost by the device ' +
        '(bucket-disposed: sealed to a disposed bucket, 2026-11-27T10:00:00Z, log 50) [gap/o1/d1/6-6]',
    );
  });

  it('names a hold the listing and the log disagree on, and what disagrees', () => {
    expect(
      describeFinding({
        id: 'hold-mismatch/o1/h1/not-listed',
        kind: 'hold-mismatch',
        holdId: 'h1',
        aspect: 'not-listed',
        problem: 'the log shows it placed and not released (entry 7), the server does not list it',
      }),
    ).toBe(
      'HOLD MISMATCH hold h1: the log shows it placed and not released (entry 7), the server does not list it; ' +
        "the server's hold listing is not to be trusted (a plan made now would be refused) [hold-mismatch/o1/h1/not-listed]",
    );
  });

  it('names a binding act whose officer statement does not stand, and why', () => {
    expect(
      describeFinding({
        id: 'officer-binding/o1/d3/9',
        kind: 'officer-binding',
        deviceId: 'd3',
        logIndex: 9,
        aspect: 'missing',
        problem:
          'the server serves no officer-signed statement for it: nothing shows an officer bound this device',
      }),
    ).toBe(
      'BINDING   device d3 (officer-bind act, log 9, missing): the server serves no officer-signed statement for it: ' +
        "nothing shows an officer bound this device; the server's word on which officer stands behind this device's " +
        'acts is not to be trusted [officer-binding/o1/d3/9]',
    );
  });

  it('names who revoked a device, what it archived before, handed in after, and what was lost', () => {
    const at = Date.UTC(2026, 10, 27, 9);
    expect(
      describeFinding({
        id: 'revoked/o1/d2/31',
        kind: 'revoked-device',
        deviceId: 'd2',
        revokedAt: at,
        revokedLogIndex: 31,
        revokedBy: 'admin1',
        lastSeqBeforeRevocation: 7,
        handedIn: { from: 8, to: 9, count: 2, firstAt: at + 60_000, lastAt: at + 60_000 },
        declaredAfter: [{ from: 10, to: 11, reason: 'device-lost', logIndex: 40, time: at + 90_000 }],
        unarchivedReceipts: 3,
      }),
    ).toBe(
      'REVOKED   device d2: revoked by device admin1 2026-11-27T09:00:00Z; it had archived through sequence 7; ' +
        'handed in 2 record(s) after the revocation (sequence 8–9, 2026-11-27T09:01:00Z): claims of a device no ' +
        'longer trusted, check them against the relay receipts; declared lost after the revocation: sequence ' +
        '10–11 (device-lost, log 40); 3 message(s) relayed before the revocation were ' +
        'never archived by it (its queue at revocation, not handed in: lost) [revoked/o1/d2/31]',
    );
    expect(
      describeFinding({
        id: 'unarchived/o1/d2/12',
        kind: 'unmatched-receipt',
        deviceId: 'd2',
        logIndex: 12,
        envelopeHash: 'ab'.repeat(32),
        sender: 'd1',
        recipient: 'd2',
        time: at - 60_000,
        deviceRevokedAt: at,
      }),
    ).toMatch(
      /has no archive record \(device revoked 2026-11-27T09:00:00Z: see REVOKED\) \[unarchived\/o1\/d2\/12\]$/,
    );
  });

  it('parses --since as a UTC day or a zoned ISO time, and nothing else', () => {
    expect(parseSince('2026-11-01')).toBe(Date.UTC(2026, 10, 1));
    expect(parseSince('2026-11-26T08:00:00Z')).toBe(Date.UTC(2026, 10, 26, 8));
    expect(parseSince('2026-11-26T08:00:00+01:00')).toBe(Date.UTC(2026, 10, 26, 7));
    for (const bad of ['yesterday', '2026-02-30', '2026-11-26T08:00:00', '26/11/2026', '']) {
      expect(() => parseSince(bad)).toThrow(UsageError);
    }
  });

  it('names the records no search reaches: archived before their device held its index key', () => {
    const device = (deviceId: string, recordsWithoutTokens: number) => ({
      deviceId,
      enrolledAt: 1,
      revokedAt: null,
      records: 4,
      maxSeq: 3,
      lastRecordAt: 2,
      receipts: 1,
      recordsWithoutTokens,
    });
    const report = (devices: ReturnType<typeof device>[]) =>
      ({
        complete: true,
        findings: [],
        acknowledged: [],
        acknowledgementProblems: [],
        policy: {
          silentAfterMs: 604_800_000,
          receiptGraceMs: 86_400_000,
          source: 'default',
          setBy: null,
          setAt: null,
        },
        devices,
        recordsChecked: 8,
        recordsWithoutTokens: devices.reduce((n, d) => n + d.recordsWithoutTokens, 0),
        bucketsWithoutWrap: [],
        dispositions: [],
        recordsDisposed: 0,
        log: { origin: 'example/org', treeSize: 20 },
        since: 0,
        checkedAt: 3,
      }) as unknown as CompletenessReport;
    // A complete archive whose records a conversation hold or a search silently missed used
    // to print only "Complete: …".
    const lines = humanLines(report([device('dev-a', 3), device('dev-b', 0)]));
    expect(lines[0]).toMatch(/^Complete: 2 device\(s\), 8 record\(s\)/);
    expect(lines[1]).toMatch(
      /^NOT SEARCHABLE: 3 record\(s\) of 1 device\(s\) \(dev-a 3\) carry no search tokens/,
    );
    expect(lines[1]).toContain("custodian and date holds and 'custos console export --device' do");
    expect(humanLines(report([device('dev-a', 0)])).some((l) => l.startsWith('NOT SEARCHABLE'))).toBe(false);
  });

  it('names each verified disposition and what it disposed of, and an unverified one as a finding', () => {
    const cert = 'ab'.repeat(32);
    const plan = 'cd'.repeat(32);
    const report = {
      complete: false,
      findings: [
        {
          id: `unverified-disposition/o1/${'ef'.repeat(32)}`,
          kind: 'unverified-disposition',
          logIndex: 90,
          certificateHash: 'ef'.repeat(32),
          planId: null,
          bucketId: null,
          reason: 'no disposition.execute act of the verified log names this certificate',
        },
      ],
      acknowledged: [],
      acknowledgementProblems: [],
      policy: { silentAfterMs: 604_800_000, receiptGraceMs: 0, source: 'default', setBy: null, setAt: null },
      devices: [],
      recordsChecked: 2,
      recordsWithoutTokens: 0,
      bucketsWithoutWrap: [],
      dispositions: [
        {
          certificateHash: cert,
          logIndex: 70,
          planId: plan,
          executedAt: Date.UTC(2026, 11, 9),
          approvers: [0, 1],
          records: 5,
          buckets: [
            {
              bucketId: 'standard-2026-11',
              // One approved record kept by a hold placed during the execution: 5 disposed of.
              approved: 6,
              certified: 5,
              held: 3,
              kept: 1,
              keysDestroyed: false,
              problem: null,
            },
            {
              bucketId: 'transitory-2026-11',
              approved: 0,
              certified: 0,
              held: 0,
              kept: 0,
              keysDestroyed: true,
              problem: null,
            },
          ],
          problem: null,
        },
      ],
      recordsDisposed: 5,
      log: { origin: 'example/org', treeSize: 100 },
      since: 0,
      checkedAt: 3,
    } as unknown as CompletenessReport;
    const lines = humanLines(report);
    expect(lines[0]).toBe(
      `UNVERIFIED disposition certificate ${'ef'.repeat(8)}… (log 90): no disposition.execute act of the verified log names this certificate; its records count as missing [unverified-disposition/o1/${'ef'.repeat(32)}]`,
    );
    expect(lines).toContain(
      `DISPOSED: 5 record(s) under certificate ${'ab'.repeat(8)}… (plan ${'cd'.repeat(8)}…, log 70, executed 2026-12-09T00:00:00Z, ` +
        'approved by officer(s) 1, 2): standard-2026-11 5. Lawfully destroyed, not missing.',
    );
    expect(reportJson(report)).toMatchObject({
      recordsDisposed: 5,
      dispositions: [{ certificateHash: cert }],
    });
  });

  it('lists acknowledged findings apart, with who, when, where and why; the verdict counts only the others', () => {
    const gap = (from: number, to: number) => ({
      id: `gap/o1/d1/${from}-${to}`,
      kind: 'gap' as const,
      deviceId: 'd1',
      from,
      to,
      evidence: ['not-served' as const],
    });
    const acknowledgement = {
      findingId: 'gap/o1/d1/1-1',
      reason: 'Phone wiped before upload (incident 114).',
      officerIndex: 1,
      deviceId: 'officer-dev',
      acknowledgedAt: Date.UTC(2026, 10, 28, 9),
      logIndex: 77,
    };
    const report = (findings: ReturnType<typeof gap>[]) =>
      ({
        complete: findings.length === 0,
        findings,
        acknowledged: [{ ...gap(1, 1), acknowledgement }],
        acknowledgementProblems: [
          'log entry 80: an acknowledgement the server does not serve or that does not verify; its finding is not acknowledged',
        ],
        policy: {
          silentAfterMs: 604_800_000,
          receiptGraceMs: 0,
          source: 'default',
          setBy: null,
          setAt: null,
        },
        devices: [],
        recordsChecked: 2,
        recordsWithoutTokens: 0,
        bucketsWithoutWrap: [],
        dispositions: [],
        recordsDisposed: 0,
        log: { origin: 'example/org', treeSize: 100 },
        since: 0,
        checkedAt: 3,
      }) as unknown as CompletenessReport;
    const passing = humanLines(report([]));
    expect(passing[0]).toBe(
      'ACKNOWLEDGED GAP       device d1: sequence 1 missing (not-served) [gap/o1/d1/1-1] — by officer 2 ' +
        '(device officer-dev), 2026-11-28T09:00:00Z, log 77: Phone wiped before upload (incident 114).',
    );
    expect(passing[1]).toMatch(/^ACKNOWLEDGEMENT NOT COUNTED: log entry 80: /);
    expect(passing[2]).toMatch(/^Complete but for 1 acknowledged finding\(s\): 0 device\(s\)/);
    // A new gap of the same device is not covered: it comes first, and the verdict fails.
    const failing = humanLines(report([gap(4, 4)]));
    expect(failing[0]).toBe('GAP       device d1: sequence 4 missing (not-served) [gap/o1/d1/4-4]');
    expect(failing[1]).toMatch(/^ACKNOWLEDGED GAP/);
    expect(failing[3]).toMatch(/^INCOMPLETE: 1 finding\(s\) \(and 1 acknowledged\): /);
    expect(reportJson(report([]))).toMatchObject({
      complete: true,
      findings: [],
      acknowledged: [{ id: 'gap/o1/d1/1-1', acknowledgement: { officerIndex: 1, logIndex: 77 } }],
    });
  });

  it("says what of a revoked device's finding its acknowledgement did not accept, and what it did", () => {
    const at = Date.UTC(2026, 10, 27, 9);
    const revoked = (unarchivedReceipts: number) => ({
      id: 'revoked/o1/d2/31',
      kind: 'revoked-device' as const,
      deviceId: 'd2',
      revokedAt: at,
      revokedLogIndex: 31,
      revokedBy: 'admin1',
      lastSeqBeforeRevocation: 7,
      handedIn: null,
      declaredAfter: [],
      unarchivedReceipts,
    });
    const acknowledgement = {
      findingId: 'revoked/o1/d2/31',
      reason: 'Lost phone; incident 2026-120.',
      officerIndex: 0,
      deviceId: 'officer-dev',
      acknowledgedAt: Date.UTC(2026, 10, 28, 9),
      logIndex: 77,
      accepted: { unarchivedReceipts: 5, handedIn: null, declaredAfter: [] },
    };
    const report = {
      complete: false,
      findings: [
        {
          ...revoked(7),
          exceedsAcknowledgement: { acknowledgement, beyond: '7 unarchived receipt(s), 5 acknowledged' },
        },
      ],
      acknowledged: [
        {
          ...revoked(2),
          id: 'revoked/o1/d3/40',
          deviceId: 'd3',
          acknowledgement: {
            ...acknowledgement,
            findingId: 'revoked/o1/d3/2-none',
            accepted: { unarchivedReceipts: 2, handedIn: null, declaredAfter: [] },
          },
        },
      ],
      acknowledgementProblems: [],
      policy: { silentAfterMs: 604_800_000, receiptGraceMs: 0, source: 'default', setBy: null, setAt: null },
      devices: [],
      recordsChecked: 0,
      recordsWithoutTokens: 0,
      bucketsWithoutWrap: [],
      dispositions: [],
      recordsDisposed: 0,
      log: { origin: 'example/org', treeSize: 100 },
      since: 0,
      checkedAt: 3,
    } as unknown as CompletenessReport;
    const lines = humanLines(report);
    expect(lines[0]).toMatch(/^REVOKED {3}device d2: .* \[revoked\/o1\/d2\/31\] — NOT COVERED: /);
    expect(lines[0]).toContain(
      '[revoked/o1/d2/31] — NOT COVERED: 7 unarchived receipt(s), 5 acknowledged by officer 1 (device officer-dev), ' +
        '2026-11-28T09:00:00Z, log 77: Lost phone; incident 2026-120.',
    );
    // Acknowledged under an id from before states: what it accepted, and the id it was made for.
    expect(lines[1]).toMatch(
      /^ACKNOWLEDGED REVOKED {3}device d3: .* \[revoked\/o1\/d3\/40\] — by officer 1 \(device officer-dev\), 2026-11-28T09:00:00Z, log 77 \(accepting 2 unarchived receipt\(s\), as revoked\/o1\/d3\/2-none\): Lost phone/,
    );
    expect(lines[2]).toMatch(/^INCOMPLETE: 1 finding\(s\) \(and 1 acknowledged\)/);
    // --json: the finding keeps its id, and says which acknowledgement covered less and what it accepted.
    expect(JSON.parse(JSON.stringify(reportJson(report)))).toMatchObject({
      findings: [
        {
          id: 'revoked/o1/d2/31',
          unarchivedReceipts: 7,
          exceedsAcknowledgement: {
            beyond: '7 unarchived receipt(s), 5 acknowledged',
            acknowledgement: { logIndex: 77, accepted: { unarchivedReceipts: 5 } },
          },
        },
      ],
      acknowledged: [{ id: 'revoked/o1/d3/40', acknowledgement: { findingId: 'revoked/o1/d3/2-none' } }],
    });
  });
});
