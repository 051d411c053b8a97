/**
 * `custos console completeness` (docs/officers.md, "Completeness and alerts"): reads and
 * verifies the org's whole log, asks the server for its own view (device counts, gaps, the
 * policy), checks the policy against its log entry, fetches every device's records (from
 * `--since` on), opens and verifies each one, and runs the analysis
 * (completeness-findings.ts). How a record is matched to a relay receipt: the record's
 * sealed body lists, in `env`, the SHA-256 of every relay envelope the event was sent or
 * received in (docs/archive-format.md §3) — the same hash the receipt commits to. The
 * header carries no envelope hash (it would let the server link records to envelopes), so
 * the console opens the records to match. The server's hold listing is read before the log
 * and held against its hold acts (hold-mismatches.ts): each disagreement is a finding.
 * Each officer-device binding act of the log is held against the officer-signed statement the
 * server serves for it (officer-bindings.ts): one it cannot back is a finding.
 *
 * What the server can make a run cost: the log is read whole once (verifiedLogReader); the
 * reads while listing or policy and log disagree fetch only what the log grew by, and the
 * hold check's scope search shares one budget across them (hold-scope-search.ts).
 */
import { completenessPolicyActDetail, type BucketPrivateKey, type Checkpoint } from '@custos/core';
import { COMPLETENESS_ANSWER_LIMIT_BYTES, recordsAnswerLimit } from '@custos/client/answer-limits';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { findOfficerWrap } from '../bucket-inventory.js';
import { unwrapBucketKey } from '../bucket-key-wrap.js';
import { ConsoleError } from '../console-error.js';
import { isUint } from '../json-values.js';
import type { OfficerSession } from '../officer-session.js';
import { verifyHit, type ServerHit } from '../search/verify-hit.js';
import { enrolmentKeyChecker } from '../search/enrolment-keys.js';
import {
  analyseCompleteness,
  devicesInLog,
  type CompletenessPolicy,
  type InvalidRecordFinding,
  type ServedRecords,
  SINCE_SLACK_MS,
} from './completeness-findings.js';
import {
  accountDisposed,
  keptRecords,
  readDispositions,
  type DispositionAccount,
} from './disposed-records.js';
import {
  applyAcknowledgements,
  readAcknowledgements,
  type AcknowledgedFinding,
  type OpenFinding,
} from './finding-acknowledgements.js';
import { findingId, type IdentifiedFinding } from './finding-ids.js';
import { holdMismatches } from './hold-mismatches.js';
import { bindingEntries, bindingFindings, readOfficerBindings } from './officer-bindings.js';
import { readOfficerListHistory } from '../officer-list-history.js';
import { readHoldsWithLog } from '../holds/holds-with-log.js';
import { holdScopeSearch } from '../holds/hold-scope-search.js';
import { trustCheckpoint } from '../audit/log-state.js';
import { verifiedLogReader, type VerifiedLog, type VerifiedLogReader } from './verified-log.js';
import { maxOf, minOf } from '../extremes.js';

/** Records asked for per page (the server's maximum). */
const RECORDS_PAGE = 500;
/**
 * How often, and how far apart, the log is re-read when the server's policy is not yet the
 * newest policy entry of the signed log (a change still waiting for its checkpoint) before
 * the mismatch is reported as the server's lie: 10 × 1 s covers a busy integrator.
 */
const POLICY_CATCH_UP_ATTEMPTS = 10;
const POLICY_CATCH_UP_DELAY_MS = 1_000;
/**
 * Record pages fetched at full speed before the console paces itself, and the pause after
 * that: below the server's default officer read limit (a burst of 40, then 5 per second),
 * so a routine check of a large org does not raise a rate-limit alert.
 */
export const UNPACED_PAGES = 30;
/** Pause between record pages after {@link UNPACED_PAGES}, in ms (4 per second). */
export const PAGE_PACE_MS = 250;
export { SINCE_SLACK_MS } from './completeness-findings.js';

type Json = Record<string, unknown>;

/** Options of {@link runCompleteness}. */
export interface CompletenessOptions {
  /** Report what happened from this time on (ms since the epoch); default: everything. */
  readonly since?: number;
  /** The time the report is for (tests); default now. */
  readonly now?: number;
  /** Wait between reads of hold listing and log while they disagree (tests); default 1 s. */
  readonly holdCatchUpDelayMs?: number;
  /**
   * The log reader, for a caller that reads the log again after the check (acknowledging
   * findings): it then reads only what the log grew by. Default: one for this run.
   */
  readonly readLog?: VerifiedLogReader;
  readonly onProgress?: (message: string) => void;
}

/** The verified policy and where it comes from. */
export interface VerifiedPolicy extends CompletenessPolicy {
  /** `default`: no policy was ever set (and the log has no policy entry); `log`: checked against its entry. */
  readonly source: 'default' | 'log';
  readonly setBy: string | null;
  readonly setAt: number | null;
}

/** A device as the report shows it. */
export interface CompletenessDevice {
  readonly deviceId: string;
  readonly enrolledAt: number | null;
  readonly revokedAt: number | null;
  /** Archive-record entries in the log. */
  readonly records: number;
  readonly maxSeq: number | null;
  readonly lastRecordAt: number | null;
  readonly receipts: number;
  /**
   * Served records (from `since`) that opened and carry no blind-index tokens: the device
   * archived them before it held its bucket's index key, so search, query and conversation
   * holds, lexicon review and exports by query never reach them (custodian and date holds
   * and exports by device do).
   */
  readonly recordsWithoutTokens: number;
  /** Archive-record entries a verified disposition approved for disposal (not missing). */
  readonly recordsDisposed: number;
}

/** The report. */
export interface CompletenessReport {
  /** No finding is left unacknowledged (exit 0); acknowledged ones are listed in `acknowledged`. */
  readonly complete: boolean;
  /**
   * Findings no verified acknowledgement covers, each with its id: these fail the check (with
   * `exceedsAcknowledgement` when an acknowledgement covered less of one than there is now).
   */
  readonly findings: readonly OpenFinding[];
  /** Findings an officer acknowledged (verified against org.json and the log), with the acknowledgement. */
  readonly acknowledged: readonly AcknowledgedFinding[];
  /** Acknowledgements that do not count, one sentence each (they acknowledge nothing). */
  readonly acknowledgementProblems: readonly string[];
  readonly policy: VerifiedPolicy;
  readonly devices: readonly CompletenessDevice[];
  readonly recordsChecked: number;
  /** The devices' `recordsWithoutTokens`, summed. */
  readonly recordsWithoutTokens: number;
  readonly bucketsWithoutWrap: readonly string[];
  /**
   * Every disposition in the log, verified (certificate, approvals, plan digest) or with its
   * problem: the records they account for are disposed, not missing.
   */
  readonly dispositions: readonly DispositionAccount[];
  /** Records disposed under verified dispositions, summed over the devices. */
  readonly recordsDisposed: number;
  readonly log: { readonly origin: string; readonly treeSize: number };
  readonly since: number;
  readonly checkedAt: number;
  /** The verified log, for callers that look further (alerts). */
  readonly verifiedLog: VerifiedLog;
  /**
   * Candidate act documents the hold check hashed to match token holds to their placing
   * acts, every read of the listing included: at most HOLD_SCOPE_BUDGET (hold-scope-search.ts).
   */
  readonly holdScopeCandidates: number;
}

interface ServerView {
  readonly gaps: { deviceId: string; from: number; to: number }[];
  readonly policy: {
    silentAfterMs: number;
    receiptGraceMs: number;
    setBy: string | null;
    setAt: number | null;
  };
}

function serverView(r: Json): ServerView {
  const bad = (what: string) =>
    new ConsoleError('SERVER_REFUSED', `GET …/archive/completeness: the answer ${what}`);
  const p = r.policy as Json | undefined;
  if (!Array.isArray(r.gaps) || typeof p !== 'object' || p === null) throw bad('lacks gaps or policy');
  const gaps = (r.gaps as Json[]).map((g) => {
    if (typeof g.deviceId !== 'string' || !isUint(g.from) || !isUint(g.to) || g.to < g.from)
      throw bad('has a malformed gap');
    return { deviceId: g.deviceId, from: g.from, to: g.to };
  });
  if (
    !isUint(p.silentAfterMs) ||
    !isUint(p.receiptGraceMs) ||
    (p.setBy !== null && typeof p.setBy !== 'string') ||
    (p.setAt !== null && !isUint(p.setAt))
  )
    throw bad('has a malformed policy');
  return {
    gaps,
    policy: {
      silentAfterMs: p.silentAfterMs,
      receiptGraceMs: p.receiptGraceMs,
      setBy: p.setBy,
      setAt: p.setAt,
    },
  };
}

/** The server's policy, checked against the newest `completeness-policy` entry of the verified log. */
export function verifyPolicy(orgId: string, log: VerifiedLog, p: ServerView['policy']): VerifiedPolicy {
  let latest: { hash: Uint8Array } | undefined;
  for (const { entry } of log.entries)
    if (entry.type === 'audit-event' && entry.kind === 'completeness-policy') latest = entry;
  if (p.setBy === null || p.setAt === null) {
    if (latest !== undefined)
      throw new ConsoleError(
        'LOG_INVALID',
        'the server reports the default completeness policy, but the log records a policy change: the server is not to be trusted',
      );
    return { ...p, source: 'default' };
  }
  const want = auditDocumentHash(orgId, {
    kind: 'completeness.policy',
    actor: p.setBy,
    subject: orgId,
    at: p.setAt,
    detail: completenessPolicyActDetail(p.silentAfterMs, p.receiptGraceMs),
  });
  if (latest === undefined || Buffer.from(latest.hash).toString('hex') !== want) {
    throw new ConsoleError(
      'LOG_INVALID',
      "the server's completeness policy does not match the newest policy entry of the log: the server is not to be trusted",
    );
  }
  return { ...p, source: 'log' };
}

function recordsPage(r: Json): { records: ServerHit[]; note: string; next: string | null } {
  const cp = r.checkpoint as Json | undefined;
  if (
    !Array.isArray(r.records) ||
    typeof cp?.note !== 'string' ||
    (r.next !== null && typeof r.next !== 'string')
  )
    throw new ConsoleError('SERVER_REFUSED', 'GET …/archive/records: the answer lacks required fields');
  for (const x of r.records as Json[]) {
    const ok =
      ['record', 'hash', 'deviceId', 'bucketId', 'identityKey', 'sessionKey'].every(
        (f) => typeof x[f] === 'string',
      ) &&
      ['logIndex', 'seq', 'receivedAt'].every((f) => isUint(x[f])) &&
      Array.isArray(x.proof);
    if (!ok)
      throw new ConsoleError('SERVER_REFUSED', 'GET …/archive/records: a record lacks required fields');
  }
  return { records: r.records as ServerHit[], note: cp.note, next: r.next };
}

/**
 * The binding acts of the verified log checked against the statements the server serves
 * (officer-bindings.ts), read after the log: a statement is stored with its act, so every act
 * the log holds has its statement by now. Asks nothing when the log has no binding act.
 */
async function officerBindingFindings(session: OfficerSession, log: VerifiedLog) {
  const bound = bindingEntries(log.entries).length;
  if (bound === 0) return [];
  const served = await readOfficerBindings(session, bound);
  return bindingFindings(
    session.orgId,
    log.entries,
    served,
    await readOfficerListHistory(session, log.entries),
  );
}

/** Runs the completeness check as the officer of `session`. */
export async function runCompleteness(
  session: OfficerSession,
  options: CompletenessOptions = {},
): Promise<CompletenessReport> {
  const progress = options.onProgress ?? (() => undefined);
  const since = options.since ?? 0;
  // The server's view first, then the log: a policy set moments ago is then either in the
  // log already or in a checkpoint signed shortly (the integrator runs every 250 ms by default).
  const view = serverView(
    await session.call('GET', `/v1/orgs/${session.orgId}/archive/completeness`, undefined, {
      maxAnswerBytes: COMPLETENESS_ANSWER_LIMIT_BYTES,
    }),
  );
  // So too the hold listing, read again with the log while they disagree (holds-with-log.ts).
  // What still disagrees is a finding, whatever --since: a hold the listing hides now puts its
  // records at risk now, however long ago it was placed.
  // One log reader and one scope search for the run: every read after the first costs what
  // the log grew by, not the whole log again, and no hold's scope is searched twice.
  const readLog = options.readLog ?? verifiedLogReader(session, progress);
  const scopes = holdScopeSearch(session.orgId);
  const held = await readHoldsWithLog(
    session,
    (holds, read, officers) => holdMismatches(session.orgId, holds, read.entries, officers, scopes),
    {
      onProgress: progress,
      // A release logged before releases were signed stays unsigned: reading again settles nothing.
      settled: (f) => f.aspect === 'unsigned-release',
      readLog,
      ...(options.holdCatchUpDelayMs === undefined ? {} : { delayMs: options.holdCatchUpDelayMs }),
    },
  );
  let log = held.log;
  let policy: VerifiedPolicy;
  for (let attempt = 1; ; attempt++) {
    try {
      policy = verifyPolicy(session.orgId, log, view.policy);
      break;
    } catch (e) {
      if (!(e instanceof ConsoleError) || attempt >= POLICY_CATCH_UP_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, POLICY_CATCH_UP_DELAY_MS));
      log = await readLog();
    }
  }
  progress(`log: ${log.treeSize} entries verified against the signed checkpoint`);
  // Keys only: this run reads revocations from the log itself (REVOKED findings).
  const enrolment = enrolmentKeyChecker(session, log);
  const dispositions = await readDispositions(session, log);
  const disposed = accountDisposed(
    session.orgId,
    log.entries,
    dispositions,
    await keptRecords(session, log.entries, dispositions),
  );
  const now = options.now ?? Date.now();

  const devices = devicesInLog(session.orgId, log.entries);
  const keys = new Map<string, BucketPrivateKey | null>();
  const bucketKey = async (bucketId: string): Promise<BucketPrivateKey | null> => {
    if (!keys.has(bucketId)) {
      const wrap = await findOfficerWrap(session, bucketId);
      keys.set(
        bucketId,
        wrap.blob === undefined
          ? null
          : (await unwrapBucketKey(wrap.blob, session.officer.keys.hpkePrivateKey)).privateKey,
      );
    }
    return keys.get(bucketId)!;
  };
  const checkpoints = new Map<string, Checkpoint>();
  const served = new Map<string, ServedRecords>();
  const invalid: InvalidRecordFinding[] = [];
  let recordsChecked = 0;
  const withoutTokens = new Map<string, number>();
  let pages = 0;
  for (const d of devices.values()) {
    const seqs = [...d.records.entries()].filter(([, t]) => t >= since - SINCE_SLACK_MS).map(([s]) => s);
    if (seqs.length === 0) continue;
    const fromSeq = since === 0 ? 0 : minOf(seqs);
    const got = new Set<number>();
    const hashes = new Set<string>();
    let incomplete = false;
    let cursor: string | null = String(fromSeq);
    while (cursor !== null) {
      if (++pages > UNPACED_PAGES) await new Promise((r) => setTimeout(r, PAGE_PACE_MS));
      const page = recordsPage(
        await session.call(
          'GET',
          `/v1/orgs/${session.orgId}/archive/records?device=${encodeURIComponent(d.deviceId)}&fromSeq=${cursor}&limit=${RECORDS_PAGE}`,
          undefined,
          { maxAnswerBytes: recordsAnswerLimit(RECORDS_PAGE) },
        ),
      );
      let cp = checkpoints.get(page.note);
      if (cp === undefined && page.records.length > 0) {
        cp = (await trustCheckpoint(session, log, page.note, 'the checkpoint of a records page')).checkpoint;
        checkpoints.set(page.note, cp);
      }
      for (const h of page.records) {
        if (h.deviceId !== d.deviceId) continue; // never counted for the device asked about
        got.add(h.seq);
        recordsChecked++;
        const key = await bucketKey(h.bucketId);
        if (key === null) {
          incomplete = true;
          continue;
        }
        try {
          const v = await verifyHit(h, session.orgId, key, { opened: cp!, note: page.note }, enrolment);
          for (const e of v.body.envelopeHashes) hashes.add(Buffer.from(e).toString('hex'));
          if (v.header.tokens.length === 0)
            withoutTokens.set(d.deviceId, (withoutTokens.get(d.deviceId) ?? 0) + 1);
        } catch (e) {
          invalid.push({
            kind: 'invalid-record',
            deviceId: d.deviceId,
            seq: h.seq,
            reason: e instanceof Error ? e.message : 'does not verify',
          });
        }
      }
      // A page that ends without progress would loop: the server's cursor must move forward.
      if (page.next !== null && Number(page.next) <= Number(cursor)) break;
      cursor = page.next;
    }
    served.set(d.deviceId, { fromSeq, seqs: got, envelopeHashes: hashes, incomplete });
    progress(`device ${d.deviceId}: ${got.size} record(s) checked`);
  }
  const bindings = await officerBindingFindings(session, log);
  const all = analyseCompleteness({
    orgId: session.orgId,
    entries: log.entries,
    served,
    serverGaps: view.gaps,
    invalid,
    policy,
    now,
    since,
    disposed,
  })
    .concat(held.problems, bindings)
    .map((f): IdentifiedFinding => ({ ...f, id: findingId(session.orgId, f, devices) }));
  const acknowledgements = await readAcknowledgements(session, log);
  const { findings, acknowledged } = applyAcknowledgements(all, acknowledgements.verified);
  return {
    complete: findings.length === 0,
    findings,
    acknowledged,
    acknowledgementProblems: acknowledgements.problems,
    policy,
    devices: [...devices.values()]
      .sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1))
      .map((d) => {
        const seqs = [...d.records.keys()];
        return {
          deviceId: d.deviceId,
          enrolledAt: d.enrolledAt,
          revokedAt: d.revokedAt,
          records: d.records.size,
          maxSeq: seqs.length === 0 ? null : maxOf(seqs),
          lastRecordAt: d.records.size === 0 ? null : maxOf(d.records.values()),
          receipts: d.receipts,
          recordsWithoutTokens: withoutTokens.get(d.deviceId) ?? 0,
          recordsDisposed: disposed.byDevice.get(d.deviceId)?.size ?? 0,
        };
      }),
    recordsChecked,
    recordsWithoutTokens: [...withoutTokens.values()].reduce((n, c) => n + c, 0),
    bucketsWithoutWrap: [...keys.entries()].filter(([, k]) => k === null).map(([b]) => b),
    dispositions: disposed.dispositions,
    recordsDisposed: [...disposed.byDevice.values()].reduce((n, m) => n + m.size, 0),
    log: { origin: log.origin, treeSize: log.treeSize },
    since,
    checkedAt: now,
    verifiedLog: log,
    holdScopeCandidates: scopes.tried,
  };
}
