/**
 * The completeness analysis (docs/officers.md, "Completeness and alerts"), a pure function
 * of what the console has verified: the org's log (every entry checked against the signed
 * checkpoint), the records the server served (each opened and checked: signature,
 * inclusion proof), and the policy (checked against its log entry). The server's own
 * report adds gaps it admits to; it can never remove one.
 *
 * Findings:
 * - `gap`: sequence numbers of a device that are missing — from the log (a device's
 *   archive-record entries skip a number), not served (the log has the record, the server
 *   did not return it: its row is gone), or admitted in the server's report; a run the
 *   device itself declared lost (an archive-gap entry, docs/archive-format.md §6.1) is
 *   still a gap, shown with its declaration — never as complete;
 * - `unmatched-receipt`: a relay receipt (envelope hash, sender, recipient, time) older
 *   than the grace period for which a device of this org that sent or received the
 *   envelope has no opened record listing that hash in its `env` field;
 * - `silent-device`: a current device that has taken part (a record or a receipt) whose
 *   newest archive record (or enrolment, if none) is older than the silence policy;
 * - `invalid-record`: a served record that failed verification or did not open;
 * - `unverified-disposition`: a disposition in the log whose certificate, or one of whose
 *   buckets, does not verify (disposed-records.ts): its records count as missing;
 * - `revoked-device`: a revoked device whose loss or late records the revocation explains —
 *   relay receipts from before its revocation that it never archived (what its queue held
 *   when it was revoked and did not hand in: the server cannot know that queue, so this is the
 *   evidence), or records it handed in after its revocation (logged later than its
 *   `device-revoked` entry, during its hand-in window; claims of a device no longer trusted,
 *   docs/threat-model.md). Its unmatched receipts are still listed, each naming the revocation;
 * - `hold-mismatch`: the server's hold listing disagrees with the log's `hold` acts
 *   (holds/hold-log-check.ts) — a hold placed and not released that it does not list as
 *   active, or a listed hold whose acts are not in the log as listed. Made by
 *   hold-mismatches.ts from a listing read before the log, not by the analysis below.
 * - `officer-binding`: an `officer-bind` act whose officer-signed statement the server does
 *   not serve, serves altered, or serves unsigned or naming another org or device
 *   (officer-bindings.ts, from a listing read after the log), not by the analysis below.
 *
 * Records a verified disposition approved for disposal (disposed-records.ts) are not
 * missing: they are taken out of every gap, and a relay receipt of a device from the time
 * its disposed records span is not expected to be matched (the record that listed the
 * envelope may be one of them, and it can no longer be opened).
 */
import type { LogEntry } from '@custos/core';
import type { HoldDisagreementAspect } from '../holds/hold-log-check.js';
import type { BindingAspect } from './officer-bindings.js';
import { NOTHING_DISPOSED, type DisposedRecords } from './disposed-records.js';
import type { IndexedEntry } from './verified-log.js';
import { maxOf, minOf } from '../extremes.js';

/** With --since, records logged this long before it are fetched too (a record may be uploaded before its receipt's time is taken). */
export const SINCE_SLACK_MS = 10 * 60_000;

/** A device's signed statement, logged, that it cannot send a run of its records. */
export interface GapDeclarationRef {
  /** Why, as the device declared it (`server-restored`, `device-lost`, `bucket-disposed`: core GAP_REASONS). */
  readonly reason: string;
  /** Index of its archive-gap log entry. */
  readonly logIndex: number;
  /** When the server accepted it (the entry's time). */
  readonly time: number;
}

/** Where a gap finding comes from. */
export type GapEvidence = 'log' | 'not-served' | 'server-report' | 'declared';

/** A missing range of one device's sequence numbers, and what shows it. */
export interface GapFinding {
  readonly kind: 'gap';
  readonly deviceId: string;
  readonly from: number;
  readonly to: number;
  /**
   * `log`: the log skips them; `not-served`: logged but not served; `server-report`: the
   * server says so; `declared`: the device declared them lost (see `declaration`).
   */
  readonly evidence: readonly GapEvidence[];
  /** The device's gap declaration covering exactly this run, when it made one. */
  readonly declaration?: GapDeclarationRef;
}

/** A relay receipt with no matching archive record of one of the org's devices. */
export interface UnmatchedReceiptFinding {
  readonly kind: 'unmatched-receipt';
  /** The device of this org that should have archived the envelope. */
  readonly deviceId: string;
  readonly logIndex: number;
  /** SHA-256 of the envelope, hex. */
  readonly envelopeHash: string;
  readonly sender: string;
  readonly recipient: string;
  readonly time: number;
  /** When the device was revoked, if it was: the record is likely one its queue held then (see `revoked-device`). */
  readonly deviceRevokedAt?: number;
}

/** Records a revoked device handed in after its revocation, by sequence number and log time. */
export interface HandedInRecords {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** What a device's revocation explains: records it never archived, or archived only after it. */
export interface RevokedDeviceFinding {
  readonly kind: 'revoked-device';
  readonly deviceId: string;
  /** The time of its `device-revoked` log entry. */
  readonly revokedAt: number;
  /** The log index of its `device-revoked` entry: the revocation, as the finding's id names it. */
  readonly revokedLogIndex: number;
  /** The device that revoked it: itself when it retired, else another device of its user or an admin's. */
  readonly revokedBy: string;
  /** The last sequence number it archived at or before its revocation; null when none. */
  readonly lastSeqBeforeRevocation: number | null;
  /**
   * Records logged after its revocation (handed in during its hand-in window); null when none.
   * "After" is log order, not entry time: times are the server's clock, which need not increase.
   */
  readonly handedIn: HandedInRecords | null;
  /** Runs it declared lost (archive-gap entries) logged after its revocation, in log order. */
  readonly declaredAfter: readonly (GapDeclarationRef & { readonly from: number; readonly to: number })[];
  /** Relay receipts from before its revocation, past the grace, that it has no archive record for. */
  readonly unarchivedReceipts: number;
}

/** A device with no archive record for longer than the policy. */
export interface SilentDeviceFinding {
  readonly kind: 'silent-device';
  readonly deviceId: string;
  /** Log time of its newest record, or null when it never archived. */
  readonly lastRecordAt: number | null;
  readonly silentForMs: number;
}

/** A served record that did not verify or open. */
export interface InvalidRecordFinding {
  readonly kind: 'invalid-record';
  readonly deviceId: string;
  readonly seq: number;
  readonly reason: string;
}

/** A disposition whose certificate (or one of whose buckets) does not verify: its records are not counted as disposed. */
export interface UnverifiedDispositionFinding {
  readonly kind: 'unverified-disposition';
  /** Index of its first `disposition` log entry. */
  readonly logIndex: number;
  /** SHA-256 of the certificate (hex), as the log commits to it. */
  readonly certificateHash: string;
  readonly planId: string | null;
  /** The bucket that does not verify; null when the certificate itself does not. */
  readonly bucketId: string | null;
  readonly reason: string;
}

/**
 * A legal hold on which the server's listing and the verified log's hold acts disagree: held
 * records may lose their protection (a plan checks holds against the listing), a spoliation
 * risk whatever the records' state today.
 */
export interface HoldMismatchFinding {
  readonly kind: 'hold-mismatch';
  readonly holdId: string;
  /** What disagrees, as a code (holds/hold-log-check.ts HoldDisagreementAspect). */
  readonly aspect: HoldDisagreementAspect;
  /** What disagrees, in a sentence naming the log entries. */
  readonly problem: string;
}

/**
 * An `officer-bind` act of the log whose officer-signed statement does not stand
 * (officer-bindings.ts): the log says an officer stands behind the device's acts, and nothing
 * shows that officer said so.
 */
export interface OfficerBindingFinding {
  readonly kind: 'officer-binding';
  /** The device the act binds (its actor). */
  readonly deviceId: string;
  /** Index of the `officer-bind` entry. */
  readonly logIndex: number;
  /** What does not stand, as a code (officer-bindings.ts BindingAspect). */
  readonly aspect: BindingAspect;
  /** What does not stand, in a sentence. */
  readonly problem: string;
}

/** Anything the report finds missing or wrong. */
export type CompletenessFinding =
  | GapFinding
  | UnmatchedReceiptFinding
  | SilentDeviceFinding
  | InvalidRecordFinding
  | UnverifiedDispositionFinding
  | RevokedDeviceFinding
  | HoldMismatchFinding
  | OfficerBindingFinding;

/** The policy in force (verified against its log entry). */
export interface CompletenessPolicy {
  readonly silentAfterMs: number;
  readonly receiptGraceMs: number;
}

/** What one device's served records showed, from `fromSeq` on. */
export interface ServedRecords {
  readonly fromSeq: number;
  /** Sequence numbers the server returned. */
  readonly seqs: ReadonlySet<number>;
  /** Envelope hashes (hex) of the records that opened. */
  readonly envelopeHashes: ReadonlySet<string>;
  /** True when some served record could not be opened (no wrap of its bucket): its hashes are unknown. */
  readonly incomplete: boolean;
}

/** Everything the analysis takes. */
export interface CompletenessInput {
  readonly orgId: string;
  readonly entries: readonly IndexedEntry[];
  readonly served: ReadonlyMap<string, ServedRecords>;
  readonly serverGaps: readonly { readonly deviceId: string; readonly from: number; readonly to: number }[];
  readonly invalid: readonly InvalidRecordFinding[];
  readonly policy: CompletenessPolicy;
  readonly now: number;
  /** Report only what happened at or after this time (ms); 0 for everything. */
  readonly since: number;
  /** What verified dispositions account for; default none. */
  readonly disposed?: DisposedRecords;
}

/** What the log says about one device. */
export interface DeviceLogView {
  readonly deviceId: string;
  readonly enrolledAt: number | null;
  readonly revokedAt: number | null;
  /** Log index of its `device-revoked` entry: what came after it is decided by this, not by time. */
  readonly revokedIndex: number | null;
  /** The actor of its `device-revoked` entry (itself when it retired); null when not revoked. */
  readonly revokedBy: string | null;
  /** Sequence number → log time of its archive-record entry. */
  readonly records: ReadonlyMap<number, number>;
  /** Sequence number → log index of its archive-record entry. */
  readonly recordIndexes: ReadonlyMap<number, number>;
  /** Runs the device declared lost (archive-gap entries), in log order. */
  readonly declared: readonly (GapDeclarationRef & { readonly from: number; readonly to: number })[];
  readonly receipts: number;
}

/** The devices the log knows of this org: enrolled ones and those with archive records. */
export function devicesInLog(orgId: string, entries: readonly IndexedEntry[]): Map<string, DeviceLogView> {
  const out = new Map<
    string,
    {
      deviceId: string;
      enrolledAt: number | null;
      revokedAt: number | null;
      revokedIndex: number | null;
      revokedBy: string | null;
      records: Map<number, number>;
      recordIndexes: Map<number, number>;
      declared: (GapDeclarationRef & { from: number; to: number })[];
      receipts: number;
    }
  >();
  const dev = (id: string) => {
    let d = out.get(id);
    if (d === undefined)
      out.set(
        id,
        (d = {
          deviceId: id,
          enrolledAt: null,
          revokedAt: null,
          revokedIndex: null,
          revokedBy: null,
          records: new Map(),
          recordIndexes: new Map(),
          declared: [],
          receipts: 0,
        }),
      );
    return d;
  };
  for (const { index, entry: e } of entries) {
    if (e.type === 'key-event' && e.kind === 'device-enrolled') dev(e.subject).enrolledAt ??= e.time;
    else if (e.type === 'key-event' && e.kind === 'device-revoked') {
      const d = dev(e.subject);
      if (d.revokedAt === null) {
        d.revokedAt = e.time;
        d.revokedIndex = index;
        d.revokedBy = e.actor;
      }
    } else if (e.type === 'archive-record' && e.org === orgId) {
      const d = dev(e.device);
      d.records.set(e.seq, e.time);
      d.recordIndexes.set(e.seq, index);
    } else if (e.type === 'archive-gap' && e.org === orgId)
      dev(e.device).declared.push({
        from: e.seq,
        to: e.end,
        reason: e.reason,
        logIndex: index,
        time: e.time,
      });
  }
  for (const { entry: e } of entries) {
    if (e.type !== 'relay-receipt') continue;
    for (const p of new Set([e.sender, e.recipient])) {
      const d = out.get(p);
      if (d !== undefined) d.receipts++;
    }
  }
  return out;
}

/** Consecutive runs of the numbers in `missing` (ascending) as inclusive ranges. */
function runs(missing: readonly number[]): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  for (const n of missing) {
    const last = out[out.length - 1];
    if (last !== undefined && last.to === n - 1) last.to = n;
    else out.push({ from: n, to: n });
  }
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The parts of `from`…`to` that are not in `taken` (ascending), as inclusive ranges. */
export function rangeLess(
  from: number,
  to: number,
  taken: readonly number[],
): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let at = from;
  for (const n of taken) {
    if (n < at) continue;
    if (n > to) break;
    if (n > at) out.push({ from: at, to: n - 1 });
    at = n + 1;
  }
  if (at <= to) out.push({ from: at, to });
  return out;
}

/** Runs the analysis; findings come sorted by kind, device and position. */
export function analyseCompleteness(input: CompletenessInput): CompletenessFinding[] {
  const devices = devicesInLog(input.orgId, input.entries);
  const disposed = input.disposed ?? NOTHING_DISPOSED;
  const disposedSeqs = new Map(
    [...disposed.byDevice].map(([d, m]) => [d, [...m.keys()].sort((a, b) => a - b)] as const),
  );
  const gaps = new Map<string, GapFinding & { evidence: GapEvidence[] }>();
  // A disposed record is not missing, whoever reports it: every gap loses its disposed numbers.
  const addGap = (
    deviceId: string,
    from: number,
    to: number,
    ev: GapEvidence,
    declaration?: GapDeclarationRef,
  ) => {
    for (const r of rangeLess(from, to, disposedSeqs.get(deviceId) ?? []))
      addRun(deviceId, r.from, r.to, ev, r.from === from && r.to === to ? declaration : undefined);
  };
  const addRun = (
    deviceId: string,
    from: number,
    to: number,
    ev: GapEvidence,
    declaration?: GapDeclarationRef,
  ) => {
    const key = `${deviceId}/${from}/${to}`;
    const g = gaps.get(key);
    if (g === undefined)
      gaps.set(key, {
        kind: 'gap',
        deviceId,
        from,
        to,
        evidence: [ev],
        ...(declaration === undefined ? {} : { declaration }),
      });
    else if (!g.evidence.includes(ev)) g.evidence.push(ev);
  };
  for (const d of devices.values()) {
    if (d.records.size === 0 && d.declared.length === 0) continue;
    const seqs = [...d.records.keys()].sort((a, b) => a - b);
    // Runs absent from the log, found between consecutive records (never by counting up to
    // the highest number: a declaration may jump the chain far ahead), and after the last
    // record up to the end of the last declaration.
    const absent: { from: number; to: number }[] = [];
    let prev = -1;
    for (const s of seqs) {
      if (s > prev + 1) absent.push({ from: prev + 1, to: s - 1 });
      prev = s;
    }
    const declaredEnd = Math.max(-1, ...d.declared.map((x) => x.to));
    if (declaredEnd > prev) absent.push({ from: prev + 1, to: declaredEnd });
    for (const r of absent) {
      // Declared parts are gaps with their declaration; what no declaration covers is a plain gap.
      let at = r.from;
      for (const x of [...d.declared].sort((a, b) => a.from - b.from)) {
        if (x.to < at || x.from > r.to) continue;
        if (x.from > at) addPlain(d, at, x.from - 1);
        const { from, to, ...declaration } = x;
        if (x.time >= input.since) addGap(d.deviceId, from, to, 'declared', declaration);
        at = x.to + 1;
        if (at > r.to) break;
      }
      if (at <= r.to) addPlain(d, at, r.to);
    }
    const served = input.served.get(d.deviceId);
    if (served !== undefined) {
      const notServed = seqs.filter((s) => s >= served.fromSeq && !served.seqs.has(s));
      for (const r of runs(notServed)) addGap(d.deviceId, r.from, r.to, 'not-served');
    }
  }
  /** A run the log skips with no declaration: counts from --since when the record after it was logged then or later. */
  function addPlain(d: DeviceLogView, from: number, to: number): void {
    const after = d.records.get(to + 1);
    if (after === undefined || after >= input.since) addGap(d.deviceId, from, to, 'log');
  }
  for (const g of input.serverGaps) addGap(g.deviceId, g.from, g.to, 'server-report');

  // From a device's first disposed record (less the slack a record may precede its receipt by)
  // to its last, a receipt's record may be a disposed one: unopenable, so not expected.
  const disposedSpan = new Map(
    [...disposed.byDevice].map(([d, m]) => {
      const times = [...m.values()];
      return [d, { from: minOf(times) - SINCE_SLACK_MS, to: maxOf(times) }] as const;
    }),
  );
  const unmatched: UnmatchedReceiptFinding[] = [];
  const cutoff = input.now - input.policy.receiptGraceMs;
  for (const { index, entry: e } of input.entries) {
    if (e.type !== 'relay-receipt' || e.time < input.since || e.time > cutoff) continue;
    const h = hex(e.hash);
    for (const p of new Set([e.sender, e.recipient])) {
      const d = devices.get(p);
      // Devices of other orgs archive (or not) in their own org's log.
      if (d === undefined || (d.revokedAt !== null && d.revokedAt <= e.time)) continue;
      const served = input.served.get(p);
      if (served?.envelopeHashes.has(h) === true) continue;
      const span = disposedSpan.get(p);
      if (span !== undefined && e.time >= span.from && e.time <= span.to) continue;
      unmatched.push(receiptFinding(p, index, e, h, d.revokedAt));
    }
  }
  const revoked = revokedFindings(devices, unmatched, input.since);

  const silent: SilentDeviceFinding[] = [];
  for (const d of devices.values()) {
    if (d.revokedAt !== null || (d.records.size === 0 && d.receipts === 0)) continue;
    const lastRecordAt = d.records.size === 0 ? null : maxOf(d.records.values());
    const quietSince = lastRecordAt ?? d.enrolledAt ?? input.now;
    const silentForMs = input.now - quietSince;
    if (silentForMs > input.policy.silentAfterMs)
      silent.push({ kind: 'silent-device', deviceId: d.deviceId, lastRecordAt, silentForMs });
  }

  const unverified: UnverifiedDispositionFinding[] = disposed.dispositions.flatMap(
    (d): UnverifiedDispositionFinding[] => {
      const ref = {
        kind: 'unverified-disposition' as const,
        logIndex: d.logIndex,
        certificateHash: d.certificateHash,
      };
      if (d.problem !== null) return [{ ...ref, planId: d.planId, bucketId: null, reason: d.problem }];
      return d.buckets
        .filter((b) => b.problem !== null)
        .map((b) => ({ ...ref, planId: d.planId, bucketId: b.bucketId, reason: b.problem! }));
    },
  );

  const byDevice = <T extends { deviceId: string }>(a: T, b: T) =>
    a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
  return [
    ...[...gaps.values()].sort((a, b) => byDevice(a, b) || a.from - b.from),
    ...unmatched.sort((a, b) => a.logIndex - b.logIndex || byDevice(a, b)),
    ...revoked.sort(byDevice),
    ...silent.sort(byDevice),
    ...[...input.invalid].sort((a, b) => byDevice(a, b) || a.seq - b.seq),
    ...unverified,
  ];
}

function receiptFinding(
  deviceId: string,
  logIndex: number,
  e: Extract<LogEntry, { type: 'relay-receipt' }>,
  envelopeHash: string,
  deviceRevokedAt: number | null,
): UnmatchedReceiptFinding {
  return {
    kind: 'unmatched-receipt',
    deviceId,
    logIndex,
    envelopeHash,
    sender: e.sender,
    recipient: e.recipient,
    time: e.time,
    ...(deviceRevokedAt === null ? {} : { deviceRevokedAt }),
  };
}

/**
 * One finding per revoked device whose revocation explains something from `since` on: its
 * receipts never archived (`unmatched`, all from before its revocation), or records or gap
 * declarations logged after its revocation (log index, not time). A device revoked with
 * everything archived and nothing handed in or declared later is complete: no finding.
 */
function revokedFindings(
  devices: ReadonlyMap<string, DeviceLogView>,
  unmatched: readonly UnmatchedReceiptFinding[],
  since: number,
): RevokedDeviceFinding[] {
  const out: RevokedDeviceFinding[] = [];
  for (const d of devices.values()) {
    if (d.revokedAt === null || d.revokedIndex === null) continue;
    const revokedAt = d.revokedAt;
    const revokedIndex = d.revokedIndex;
    const unarchivedReceipts = unmatched.filter((u) => u.deviceId === d.deviceId).length;
    let lastSeqBeforeRevocation: number | null = null;
    let handedIn: HandedInRecords | null = null;
    for (const [seq, time] of d.records) {
      // Log order, not time: a server whose clock stepped back (or a second node, or a lying
      // server) stamps entries logged after the revocation with earlier times.
      if ((d.recordIndexes.get(seq) ?? -1) < revokedIndex) {
        if (lastSeqBeforeRevocation === null || seq > lastSeqBeforeRevocation) lastSeqBeforeRevocation = seq;
      } else if (handedIn === null) {
        handedIn = { from: seq, to: seq, count: 1, firstAt: time, lastAt: time };
      } else {
        handedIn = {
          from: Math.min(handedIn.from, seq),
          to: Math.max(handedIn.to, seq),
          count: handedIn.count + 1,
          firstAt: Math.min(handedIn.firstAt, time),
          lastAt: Math.max(handedIn.lastAt, time),
        };
      }
    }
    const declaredAfter = d.declared.filter((g) => g.logIndex > revokedIndex);
    if (
      unarchivedReceipts === 0 &&
      (handedIn === null || handedIn.lastAt < since) &&
      declaredAfter.every((g) => g.time < since)
    )
      continue;
    out.push({
      kind: 'revoked-device',
      deviceId: d.deviceId,
      revokedAt,
      revokedLogIndex: revokedIndex,
      revokedBy: d.revokedBy ?? d.deviceId,
      lastSeqBeforeRevocation,
      handedIn,
      declaredAfter,
      unarchivedReceipts,
    });
  }
  return out;
}
