/**
 * Records a lawful disposition destroyed (docs/officers.md, "Completeness and alerts"): the
 * completeness check must not call them missing, and must not let the server hide a deleted
 * record by calling it disposed. So nothing here is the server's word:
 *
 * - the log's `disposition` entries (one per bucket) commit to the certificate's SHA-256; the
 *   `disposition.execute` act of the same certificate (its document checked against its log
 *   entry) names the plan; the plan and certificate are fetched and checked as `custos
 *   console dispose --execute` checks them (plan bytes hash to the id, this org, at least the
 *   quorum of approvals verifying with the keys of the officer list in force when it was
 *   executed: officer-list-history.ts, from the verified log's officer changes and the org's
 *   signed lists), and the certificate's bytes must hash to the log's entries;
 * - the records a plan approved for disposal are recomputed from the verified log: the
 *   bucket's `archive-record` entries in the plan's leaf span, less those held when the plan
 *   was made (the server's list, checked by what follows) and those an earlier verified
 *   disposition already covered, must hash to the plan's leaf digest, which m officers signed.
 *
 * Only those records are "disposed". A record the server no longer serves that no verified
 * plan approved stays a gap; a disposition that does not verify is itself a finding.
 */
import { createHash } from 'node:crypto';
import {
  LeafDigest,
  type DispositionCertificate,
  type DispositionPlan,
  type PlannedBucket,
} from '@custos/core';
import { auditAnswerLimit, recordsAnswerLimit } from '@custos/client/answer-limits';
import { checkActDocument } from '../audit/officer-audit.js';
import { ConsoleError, isConsoleError } from '../console-error.js';
import { certifiedApprovers, getDisposition } from '../disposition/officer-disposition.js';
import { readOfficerListHistory, type OfficerListHistory } from '../officer-list-history.js';
import type { OfficerSession } from '../officer-session.js';
import { fromB64u } from '../profile-files.js';
import type { IndexedEntry, VerifiedLog } from './verified-log.js';

/** Acts read per request when looking for `disposition.execute` acts. */
const ACTS_PAGE = 500;
/** The audit detail of a `disposition.execute` act: `cert=` and the certificate's SHA-256 (server execution.ts). */
const CERTIFICATE_MARK = 'cert=';

/** One disposition as its log entries name it, and what the console verified of it. */
export interface CertifiedDisposition {
  /** SHA-256 of the certificate (hex), as the log's `disposition` entries commit to it. */
  readonly certificateHash: string;
  /** Index of its first `disposition` entry. */
  readonly logIndex: number;
  /** Bucket and records disposed, as each of its `disposition` entries says. */
  readonly entries: readonly { readonly bucketId: string; readonly records: number }[];
  /** The plan the `disposition.execute` act names; null when no act of the log names the certificate. */
  readonly planId: string | null;
  /** Set only when the certificate verified (then `problem` is null). */
  readonly plan: DispositionPlan | null;
  readonly certificate: DispositionCertificate | null;
  /** The certificate's bytes, when it verified (an archive copy keeps them beside its log). */
  readonly certificateBytes?: Uint8Array;
  /** Officer indexes whose approvals of the plan verify. */
  readonly approvers: readonly number[];
  /** Per bucket, the leaf indexes the server says were held when the plan was made. */
  readonly heldLeaves: ReadonlyMap<string, readonly number[]>;
  /** Why it does not verify; null when it does. */
  readonly problem: string | null;
}

type Json = Record<string, unknown>;

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * The certificate hash → plan id of every `disposition.execute` act in the verified log at
 * or after `from`, read from the act listing (each document checked against the log's own
 * entry at its index) until every certificate in `wanted` is found or the listing ends.
 */
async function executedPlanIds(
  session: OfficerSession,
  log: VerifiedLog,
  wanted: ReadonlySet<string>,
  from: number,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let after: string | null = from === 0 ? null : String(from - 1);
  while (found.size < wanted.size) {
    const qs = [`limit=${ACTS_PAGE}`, ...(after === null ? [] : [`after=${after}`])];
    const r = await session.call('GET', `/v1/orgs/${session.orgId}/audit?${qs.join('&')}`, undefined, {
      maxAnswerBytes: auditAnswerLimit(ACTS_PAGE),
    });
    if (!Array.isArray(r.acts) || (r.next !== null && typeof r.next !== 'string'))
      throw new ConsoleError('SERVER_REFUSED', 'the audit listing lacks acts or next');
    for (const a of r.acts as Json[]) {
      if (!Number.isSafeInteger(a.index))
        throw new ConsoleError('SERVER_REFUSED', 'the audit listing: an act lacks its index');
      const index = a.index as number;
      // Entries are verified in log order: entries[i] is leaf i.
      const e = log.entries[index]?.entry;
      if (e?.type !== 'audit-event' || e.kind !== 'disposition-execute' || typeof a.document !== 'string')
        continue;
      const doc = checkActDocument(session.orgId, e, fromB64u(a.document), index);
      const cert = doc.det?.startsWith(CERTIFICATE_MARK) ? doc.det.slice(CERTIFICATE_MARK.length) : undefined;
      if (cert !== undefined && wanted.has(cert)) found.set(cert, doc.sub);
    }
    // Past the verified log nothing can be checked: a newer act waits for the next report.
    if (r.next === null || Number(r.next) >= log.treeSize - 1) break;
    // A cursor that does not move on would page the same acts for ever.
    if (!/^\d+$/.test(r.next) || (after !== null && Number(r.next) <= Number(after)))
      throw new ConsoleError(
        'SERVER_REFUSED',
        `the audit listing's next cursor ${r.next} does not move past ${after}`,
      );
    after = r.next;
  }
  return found;
}

/**
 * Whether the log's `disposition` entries of a certificate are exactly its buckets: one entry
 * per certificate bucket, each a bucket of the plan, with the certificate's record count.
 * Answers what does not match, or null. A certificate bucket without its entry would be a
 * disposition the log does not show per bucket.
 */
export function entriesMismatch(
  entries: CertifiedDisposition['entries'],
  certificate: DispositionCertificate,
  plan: DispositionPlan,
): string | null {
  const seen = new Set<string>();
  for (const en of entries) {
    const b = certificate.buckets.find((x) => x.bucketId === en.bucketId);
    if (
      b === undefined ||
      b.records !== en.records ||
      seen.has(en.bucketId) ||
      !plan.buckets.some((p) => p.bucketId === en.bucketId)
    )
      return `the log's disposition entry for bucket ${en.bucketId} does not match the certificate`;
    seen.add(en.bucketId);
  }
  const missing = certificate.buckets.find((b) => !seen.has(b.bucketId));
  if (missing !== undefined)
    return `the certificate's bucket ${missing.bucketId} has no disposition entry in the log`;
  return null;
}

/**
 * Checks one certificate: its plan, its bytes against the log, its approvals (by the officer
 * list in force at its first `disposition` entry, `history`), its buckets against the entries.
 */
async function certify(
  session: OfficerSession,
  history: OfficerListHistory,
  base: Omit<CertifiedDisposition, 'problem' | 'plan' | 'certificate' | 'approvers' | 'heldLeaves'>,
): Promise<CertifiedDisposition> {
  const unverified = (problem: string): CertifiedDisposition => ({
    ...base,
    plan: null,
    certificate: null,
    approvers: [],
    heldLeaves: new Map(),
    problem,
  });
  if (base.planId === null)
    return unverified('no disposition.execute act of the verified log names this certificate');
  let view;
  let approved;
  try {
    view = await getDisposition(session, base.planId, true);
    if (view.certificateBytes === null || sha256Hex(view.certificateBytes) !== base.certificateHash)
      return unverified(`plan ${base.planId}: the server serves another certificate than the log commits to`);
    approved = certifiedApprovers(history.at(base.logIndex), view);
  } catch (e) {
    if (!isConsoleError(e)) throw e;
    return unverified(`plan ${base.planId}: ${e.message}`);
  }
  const mismatch = entriesMismatch(base.entries, approved.certificate, view.plan);
  if (mismatch !== null) return unverified(`plan ${base.planId}: ${mismatch}`);
  return {
    ...base,
    plan: view.plan,
    certificate: approved.certificate,
    certificateBytes: view.certificateBytes,
    approvers: approved.approvers,
    heldLeaves: view.heldLeaves,
    problem: null,
  };
}

/** Every disposition the verified log records, in log order, each verified (or with its problem). Asks nothing when there is none. */
export async function readDispositions(
  session: OfficerSession,
  log: VerifiedLog,
): Promise<CertifiedDisposition[]> {
  const groups = new Map<string, { logIndex: number; entries: { bucketId: string; records: number }[] }>();
  for (const { index, entry: e } of log.entries) {
    if (e.type !== 'disposition') continue;
    const hash = Buffer.from(e.hash).toString('hex');
    let g = groups.get(hash);
    if (g === undefined) groups.set(hash, (g = { logIndex: index, entries: [] }));
    g.entries.push({ bucketId: e.bucket, records: e.records });
  }
  if (groups.size === 0) return [];
  const first = Math.min(...[...groups.values()].map((g) => g.logIndex));
  const planIds = await executedPlanIds(session, log, new Set(groups.keys()), first);
  // A server withholding or reordering officer list history stops the run here (SERVER_REFUSED).
  const history = await readOfficerListHistory(session, log.entries);
  const out: CertifiedDisposition[] = [];
  for (const [certificateHash, g] of groups)
    out.push(
      await certify(session, history, {
        certificateHash,
        ...g,
        planId: planIds.get(certificateHash) ?? null,
      }),
    );
  return out;
}

/** One bucket of a verified disposition, as the report shows it. */
export interface DisposedBucketAccount {
  readonly bucketId: string;
  /** Records the plan approved for disposal, recomputed from the log (0 when `problem` is set). */
  readonly approved: number;
  /** Records disposed, as the certificate says. */
  readonly certified: number;
  /** Records kept under a hold, as the certificate says. */
  readonly held: number;
  /** Approved records the server still serves: a hold placed during the execution kept them. */
  readonly kept: number;
  readonly keysDestroyed: boolean;
  /** Why its records are not counted as disposed; null when they are. */
  readonly problem: string | null;
}

/** A disposition as the report shows it. */
export interface DispositionAccount {
  readonly certificateHash: string;
  readonly logIndex: number;
  readonly planId: string | null;
  readonly executedAt: number | null;
  readonly approvers: readonly number[];
  /** Records of this org's devices it disposed of (the buckets' `approved` less `kept`, summed). */
  readonly records: number;
  readonly buckets: readonly DisposedBucketAccount[];
  readonly problem: string | null;
}

/** What verified dispositions account for. */
export interface DisposedRecords {
  /** Device → sequence number → log time, of every record a verified plan approved for disposal. */
  readonly byDevice: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** The same records' leaf indexes (what a later plan of their bucket no longer covers). */
  readonly leaves: ReadonlySet<number>;
  /** The same leaf indexes by the certificate (hash, hex) that accounts for each, ascending. */
  readonly leavesByCertificate: ReadonlyMap<string, readonly number[]>;
  readonly dispositions: readonly DispositionAccount[];
}

/** No disposition: nothing disposed. */
export const NOTHING_DISPOSED: DisposedRecords = {
  byDevice: new Map(),
  leaves: new Set(),
  leavesByCertificate: new Map(),
  dispositions: [],
};

/**
 * The leaves a planned bucket disposes of, recomputed from the verified log: of `bucket` (the
 * bucket's `archive-record` entries, ascending by index), those in the plan's span, less
 * `held` (the server's list of the leaves held when the plan was made) and less `disposed`
 * (leaves earlier verified dispositions accounted for). The held list must be ascending,
 * without duplicates, name only such entries and count the plan's `held`; the rest must be
 * the plan's `records` and hash to its `leaves`, which officers sign. Answers the leaves, or
 * what is wrong. Both the officer's plan check (before signing) and the completeness check
 * (after the disposition) call it, so what officers signed is what completeness accepts.
 */
export function plannedLeaves<T extends { readonly index: number }>(
  pb: PlannedBucket,
  bucket: readonly T[],
  held: readonly number[],
  disposed: ReadonlySet<number>,
): { readonly leaves: T[] } | { readonly problem: string } {
  const inSpan =
    pb.span === null ? [] : bucket.filter((r) => r.index >= pb.span![0] && r.index <= pb.span![1]);
  const ofBucket = new Set(inSpan.map((r) => r.index));
  if (held.length !== pb.held)
    return { problem: `the server lists ${held.length} held leaf(s), the plan counts ${pb.held}` };
  for (let i = 0; i < held.length; i++) {
    if (i > 0 && held[i]! <= held[i - 1]!)
      return { problem: 'the held leaves the server lists are not ascending without duplicates' };
    if (!ofBucket.has(held[i]!))
      return { problem: `held leaf ${held[i]} is not an archive record of this bucket in the plan's span` };
  }
  const heldSet = new Set(held);
  const leaves = inSpan.filter((r) => !heldSet.has(r.index) && !disposed.has(r.index));
  if (leaves.length !== pb.records)
    return {
      problem:
        `the plan counts ${pb.records} record(s) to dispose of, the log has ${leaves.length} of the bucket ` +
        'in its span less those held and those disposed of earlier',
    };
  const digest = new LeafDigest();
  for (const r of leaves) digest.add(r.index);
  if (!Buffer.from(digest.digest()).equals(Buffer.from(pb.leaves)))
    return {
      problem:
        "the log's records of the bucket in the plan's span, less those held, do not hash to the plan's leaf digest",
    };
  return { leaves };
}

/**
 * Whether the server still serves the record `seq` of `device`. Only asked about records of
 * buckets whose certificate counts fewer records disposed of than the plan approved (keptRecords).
 */
export type StillServed = (device: string, seq: number) => boolean;

/**
 * Which records of verified dispositions the server still serves, asked of it where it
 * matters: a hold placed while a plan was executed keeps some of its approved records (the
 * certificate then counts fewer than the plan), and they are not disposed of until a later
 * plan disposes of them. For each such bucket, the log's records of the bucket in the plan's
 * span are looked up in the server's record listing (one record per request, skipping what
 * it says is not there). The server's word: a server that says it serves a record it deleted
 * turns the deletion into a gap, never into a disposal.
 */
export async function keptRecords(
  session: OfficerSession,
  entries: readonly IndexedEntry[],
  dispositions: readonly CertifiedDisposition[],
): Promise<StillServed> {
  const spans: { bucketId: string; first: number; last: number }[] = [];
  for (const d of dispositions) {
    if (d.plan === null || d.certificate === null || d.problem !== null) continue;
    for (const pb of d.plan.buckets) {
      const cb = d.certificate.buckets.find((x) => x.bucketId === pb.bucketId);
      if (pb.span !== null && (cb?.records ?? 0) < pb.records)
        spans.push({ bucketId: pb.bucketId, first: pb.span[0], last: pb.span[1] });
    }
  }
  const candidates = new Map<string, number[]>();
  for (const { index, entry: e } of entries) {
    if (e.type !== 'archive-record' || e.org !== session.orgId) continue;
    if (!spans.some((x) => x.bucketId === e.bucket && index >= x.first && index <= x.last)) continue;
    let list = candidates.get(e.device);
    if (list === undefined) candidates.set(e.device, (list = []));
    list.push(e.seq);
  }
  const served = new Map<string, Set<number>>();
  for (const [device, seqs] of candidates) {
    const got = new Set<number>();
    served.set(device, got);
    seqs.sort((a, b) => a - b);
    for (let i = 0; i < seqs.length;) {
      const r = await session.call(
        'GET',
        `/v1/orgs/${session.orgId}/archive/records?device=${encodeURIComponent(device)}&fromSeq=${seqs[i]}&limit=1`,
        undefined,
        { maxAnswerBytes: recordsAnswerLimit(1) },
      );
      const first = Array.isArray(r.records) ? (r.records as Json[])[0] : undefined;
      if (first === undefined) break;
      if (first.deviceId !== device || !Number.isSafeInteger(first.seq) || (first.seq as number) < seqs[i]!)
        throw new ConsoleError('SERVER_REFUSED', 'GET …/archive/records: a record of another device or seq');
      const seq = first.seq as number;
      got.add(seq);
      while (i < seqs.length && seqs[i]! <= seq) i++;
    }
  }
  return (device, seq) => served.get(device)?.has(seq) ?? false;
}

/**
 * The records verified dispositions approved for disposal and the server no longer serves
 * (module comment), a pure function of the verified log, the certified dispositions and what
 * the server still serves of them (keptRecords; without it, every approved record is taken as
 * gone). A bucket whose recomputed leaves do not hash to its plan's digest contributes
 * nothing, and says so; so does one whose certificate counts other than the approved records
 * the server no longer serves. Approved records still served are not accounted: a later plan
 * disposes of them.
 */
export function accountDisposed(
  orgId: string,
  entries: readonly IndexedEntry[],
  dispositions: readonly CertifiedDisposition[],
  served: StillServed = () => false,
): DisposedRecords {
  const byBucket = new Map<string, { index: number; device: string; seq: number; time: number }[]>();
  for (const { index, entry: e } of entries) {
    if (e.type !== 'archive-record' || e.org !== orgId) continue;
    let list = byBucket.get(e.bucket);
    if (list === undefined) byBucket.set(e.bucket, (list = []));
    list.push({ index, device: e.device, seq: e.seq, time: e.time });
  }
  const accounted = new Set<number>();
  const byDevice = new Map<string, Map<number, number>>();
  const accounts: DispositionAccount[] = [];
  const byCertificate = new Map<string, number[]>();
  const ordered = [...dispositions].sort((a, b) => a.logIndex - b.logIndex);
  /** Whether a verified disposition after `at` planned the record at `index` of the bucket for disposal (not held). */
  const laterPlanned = (at: number, bucketId: string, index: number): boolean =>
    ordered.some(
      (d) =>
        d.logIndex > at &&
        d.problem === null &&
        d.plan?.buckets.some(
          (pb) =>
            pb.bucketId === bucketId &&
            pb.span !== null &&
            index >= pb.span[0] &&
            index <= pb.span[1] &&
            !(d.heldLeaves.get(bucketId) ?? []).includes(index),
        ) === true,
    );
  for (const d of ordered) {
    const base = { certificateHash: d.certificateHash, logIndex: d.logIndex, planId: d.planId };
    if (d.plan === null || d.certificate === null || d.problem !== null) {
      accounts.push({
        ...base,
        executedAt: null,
        approvers: [],
        records: 0,
        buckets: [],
        problem: d.problem,
      });
      continue;
    }
    const buckets: DisposedBucketAccount[] = [];
    for (const pb of d.plan.buckets) {
      const cb = d.certificate.buckets.find((x) => x.bucketId === pb.bucketId);
      const shown = {
        bucketId: pb.bucketId,
        certified: cb?.records ?? 0,
        held: cb?.held ?? 0,
        keysDestroyed: cb?.keysDestroyed ?? false,
      };
      const approved = plannedLeaves(
        pb,
        byBucket.get(pb.bucketId) ?? [],
        d.heldLeaves.get(pb.bucketId) ?? [],
        accounted,
      );
      if ('problem' in approved) {
        buckets.push({ ...shown, approved: 0, kept: 0, problem: approved.problem });
        continue;
      }
      // A hold placed during the execution keeps some approved records (the certificate counts
      // fewer): those the server still serves, or, once released, a later plan disposed of.
      let gone = approved.leaves.filter((r) => !served(r.device, r.seq));
      if (gone.length > shown.certified) {
        const later = gone.filter((r) => laterPlanned(d.logIndex, pb.bucketId, r.index));
        if (later.length === gone.length - shown.certified) gone = gone.filter((r) => !later.includes(r));
      }
      const kept = approved.leaves.length - gone.length;
      if (gone.length !== shown.certified) {
        buckets.push({
          ...shown,
          approved: 0,
          kept,
          problem:
            `the plan approved ${approved.leaves.length} record(s) and the certificate says ${shown.certified} ` +
            `were disposed of, yet the server no longer serves ${gone.length} of them that no later verified plan disposed of`,
        });
        continue;
      }
      let ofCertificate = byCertificate.get(d.certificateHash);
      if (ofCertificate === undefined) byCertificate.set(d.certificateHash, (ofCertificate = []));
      for (const r of gone) {
        accounted.add(r.index);
        ofCertificate.push(r.index);
        let m = byDevice.get(r.device);
        if (m === undefined) byDevice.set(r.device, (m = new Map<number, number>()));
        m.set(r.seq, r.time);
      }
      buckets.push({ ...shown, approved: approved.leaves.length, kept, problem: null });
    }
    accounts.push({
      ...base,
      executedAt: d.certificate.executedAt,
      approvers: d.approvers,
      records: buckets.reduce((n, b) => n + (b.problem === null ? b.approved - b.kept : 0), 0),
      buckets,
      problem: null,
    });
  }
  for (const leaves of byCertificate.values()) leaves.sort((a, b) => a - b);
  return { byDevice, leaves: accounted, leavesByCertificate: byCertificate, dispositions: accounts };
}
