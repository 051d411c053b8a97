/**
 * Officers' acknowledgements of completeness findings (docs/officers.md, "Completeness and
 * alerts"). A finding an officer investigated and explained — records lost with a wiped
 * phone, a lost device's silence — is acknowledged once, by its stable id (finding-ids.ts),
 * with a reason; later checks list it apart and no longer fail on it. Any other finding,
 * a new gap of the same device included, still fails.
 *
 * Nothing is the server's word: an acknowledgement counts only when its statement (core
 * finding-acknowledgement.ts) names this org and the finding, its signature verifies with the
 * key of the officer it names in the officer list in force when it was logged (the ceremony's
 * or a later one the log proves, officer-list-history.ts: an officer removed since still
 * counts for what they acknowledged in office), and the verified log holds its
 * `completeness-acknowledge` act (the act document, rebuilt here, hashes to an entry). A
 * statement the server forges, moves onto another finding or serves without its log entry
 * acknowledges nothing; a log entry whose statement the server withholds leaves its finding
 * failing.
 */
import {
  decodeFindingAcknowledgement,
  encodeFindingAcknowledgement,
  findingAcknowledgementActDetail,
  findingAcknowledgementMessage,
  MAX_ACKNOWLEDGEMENT_REASON_CHARS,
} from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { ConsoleError } from '../console-error.js';
import { isUint } from '../json-values.js';
import { decodeOfficerPublicKey } from '../officer-keys.js';
import { readOfficerListHistory, type OfficerListHistory } from '../officer-list-history.js';
import type { OfficerSession } from '../officer-session.js';
import { fromB64u } from '../profile-files.js';
import { verifyEd25519 } from '../signing-key.js';
import { findingIdOrg, type IdentifiedFinding } from './finding-ids.js';
import { verifiedLogReader, type VerifiedLog, type VerifiedLogReader } from './verified-log.js';

/** Acknowledgements asked for per page (statements are at most ~14 KB as base64url). */
const ACKNOWLEDGEMENTS_PAGE = 100;
/** The kind of the act, in its document and (with `.` as `-`) in its log entry. */
const ACT_KIND = 'completeness.acknowledge';
/**
 * How often, and how far apart, the log is re-read after acknowledging until the acts are in
 * a signed checkpoint: 10 × 1 s covers a busy integrator (as for the completeness policy).
 */
const LOG_CATCH_UP_ATTEMPTS = 10;
const LOG_CATCH_UP_DELAY_MS = 1_000;

type Json = Record<string, unknown>;

/** An acknowledgement that verified: signed by an officer in office when it was logged, in the verified log. */
export interface VerifiedAcknowledgement {
  readonly findingId: string;
  readonly reason: string;
  /** The officer who signed it (index in org.json, counted from 0). */
  readonly officerIndex: number;
  /** The officer device that sent it (the act's actor). */
  readonly deviceId: string;
  /** Server time of the act. */
  readonly acknowledgedAt: number;
  /** The index of its `completeness-acknowledge` log entry. */
  readonly logIndex: number;
}

/** Every verified acknowledgement by finding id, and what did not verify. */
export interface AcknowledgementsRead {
  readonly verified: ReadonlyMap<string, VerifiedAcknowledgement>;
  /** One sentence per acknowledgement that does not count (served but not verified, or logged but not served). */
  readonly problems: readonly string[];
}

/** An acknowledged finding as the report shows it. */
export type AcknowledgedFinding = IdentifiedFinding & { readonly acknowledgement: VerifiedAcknowledgement };

/** One listed acknowledgement, shape-checked; SERVER_REFUSED names what is missing. */
function listed(v: Json): {
  findingId: string;
  statement: Uint8Array;
  signature: Uint8Array;
  deviceId: string;
  at: number;
} {
  if (
    typeof v.findingId !== 'string' ||
    typeof v.statement !== 'string' ||
    typeof v.signature !== 'string' ||
    typeof v.deviceId !== 'string' ||
    !isUint(v.acknowledgedAt)
  )
    throw new ConsoleError(
      'SERVER_REFUSED',
      'GET …/completeness/acknowledgements: an acknowledgement lacks required fields',
    );
  return {
    findingId: v.findingId,
    statement: fromB64u(v.statement),
    signature: fromB64u(v.signature),
    deviceId: v.deviceId,
    at: v.acknowledgedAt,
  };
}

/**
 * Checks one served acknowledgement against the verified log's acts (`logged`: act hash → log
 * index) and the officer keys of the list in force at its act's log index (`history`: the
 * ceremony's list or a later one the log proves, so an officer removed since still counts for
 * what they acknowledged while in office). Answers it verified, or why it does not count.
 */
function verifyOne(
  session: OfficerSession,
  a: ReturnType<typeof listed>,
  logged: ReadonlyMap<string, number>,
  history: OfficerListHistory,
): VerifiedAcknowledgement | string {
  const what = `the acknowledgement of ${a.findingId}`;
  let st;
  try {
    st = decodeFindingAcknowledgement(a.statement);
  } catch (e) {
    return `${what}: its statement is malformed (${e instanceof Error ? e.message : 'undecodable'})`;
  }
  if (st.orgId !== session.orgId || st.findingId !== a.findingId)
    return `${what}: its statement names another organisation or finding`;
  const logIndex = logged.get(
    auditDocumentHash(session.orgId, {
      kind: ACT_KIND,
      actor: a.deviceId,
      subject: a.findingId,
      at: a.at,
      detail: findingAcknowledgementActDetail(a.statement),
    }),
  );
  if (logIndex === undefined) return `${what}: the verified log has no act for it (yet)`;
  const officer = history.at(logIndex).officers.find((o) => o.index === st.officerIndex);
  if (officer === undefined)
    return `${what}: signed as officer ${st.officerIndex + 1}, who was not an officer when it was logged (log ${logIndex})`;
  const key = decodeOfficerPublicKey(fromB64u(officer.publicKey)).signing;
  if (!verifyEd25519(key, findingAcknowledgementMessage(a.statement), a.signature))
    return `${what}: its signature does not verify as officer ${st.officerIndex + 1}'s`;
  return {
    findingId: a.findingId,
    reason: st.reason,
    officerIndex: st.officerIndex,
    deviceId: a.deviceId,
    acknowledgedAt: a.at,
    logIndex,
  };
}

/** Every acknowledgement the verified log records, each verified (or with why not). Asks nothing when the log has none. */
export async function readAcknowledgements(
  session: OfficerSession,
  log: VerifiedLog,
): Promise<AcknowledgementsRead> {
  const logged = new Map<string, number>();
  for (const { index, entry } of log.entries)
    if (entry.type === 'audit-event' && entry.kind === 'completeness-acknowledge')
      logged.set(Buffer.from(entry.hash).toString('hex'), index);
  const verified = new Map<string, VerifiedAcknowledgement>();
  const problems: string[] = [];
  if (logged.size === 0) return { verified, problems };
  const history = await readOfficerListHistory(session, log.entries);
  const seen = new Set<string>();
  let after: string | null = null;
  for (;;) {
    const q: string = `limit=${ACKNOWLEDGEMENTS_PAGE}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
    const r = await session.call(
      'GET',
      `/v1/orgs/${session.orgId}/archive/completeness/acknowledgements?${q}`,
    );
    if (!Array.isArray(r.acknowledgements) || (r.next !== null && typeof r.next !== 'string'))
      throw new ConsoleError(
        'SERVER_REFUSED',
        'GET …/completeness/acknowledgements: the answer lacks acknowledgements or next',
      );
    let fresh = 0;
    for (const v of r.acknowledgements as Json[]) {
      const a = listed(v);
      if (seen.has(a.findingId)) continue;
      seen.add(a.findingId);
      fresh++;
      const out = verifyOne(session, a, logged, history);
      if (typeof out === 'string') problems.push(out);
      else verified.set(out.findingId, out);
    }
    if (r.next === null) break;
    // The log bounds what can count: a server paging far beyond it is only making the check run on.
    if (seen.size > logged.size + ACKNOWLEDGEMENTS_PAGE)
      throw new ConsoleError(
        'SERVER_REFUSED',
        `GET …/completeness/acknowledgements: serves more than the ${logged.size} acknowledgement(s) the log records`,
      );
    // A page that brings nothing new would be paged for ever.
    if (fresh === 0)
      throw new ConsoleError(
        'SERVER_REFUSED',
        'GET …/completeness/acknowledgements: a page repeats the previous ones',
      );
    after = r.next;
  }
  const used = new Set([...verified.values()].map((v) => v.logIndex));
  for (const index of [...logged.values()].sort((x, y) => x - y))
    if (!used.has(index))
      problems.push(
        `log entry ${index}: an acknowledgement the server does not serve or that does not verify; its finding is not acknowledged`,
      );
  return { verified, problems };
}

/**
 * Splits findings into those still failing and those a verified acknowledgement covers — by
 * exact id: an acknowledgement covers its own finding and nothing else.
 */
export function applyAcknowledgements(
  findings: readonly IdentifiedFinding[],
  verified: ReadonlyMap<string, VerifiedAcknowledgement>,
): { findings: IdentifiedFinding[]; acknowledged: AcknowledgedFinding[] } {
  const open: IdentifiedFinding[] = [];
  const acknowledged: AcknowledgedFinding[] = [];
  for (const f of findings) {
    const a = verified.get(f.id);
    // What one officer may not explain away stays open, acknowledged or not.
    if (a === undefined || notAcknowledgeable(f) !== null) open.push(f);
    else acknowledged.push({ ...f, acknowledgement: a });
  }
  return { findings: open, acknowledged };
}

/**
 * Why one officer may not acknowledge `f`, or null when they may. These findings say the
 * server lost, altered or destroyed what the log proves was archived — records logged and no
 * longer served, a served record that fails verification, a disposition without a proven
 * quorum — so one insider officer acknowledging them (with an operator deleting records)
 * would turn the daily check green over destroyed records. They stay findings until the
 * records are restored (from a backup or the organisation's archive copy) or the disposition
 * verifies. So does a hold listing that disagrees with the log's hold acts: acknowledged, it
 * would hide the state in which the next plan destroys held records. Device-side losses (a wiped phone's gap, a silent or revoked device, a receipt
 * never archived) are what acknowledgements are for.
 */
export function notAcknowledgeable(f: IdentifiedFinding): string | null {
  if (f.kind === 'unverified-disposition')
    return 'a disposition whose quorum the console cannot verify destroyed records; it stays a finding until its certificate verifies';
  if (f.kind === 'invalid-record')
    return 'the server serves a record that fails verification; restore it from a backup or the archive copy';
  if (f.kind === 'gap' && f.evidence.includes('not-served'))
    return 'the log proves these records were archived and the server no longer serves them; restore them from a backup or the archive copy';
  // The log proves the hold; a listing that hides or reshapes it lets the next plan destroy
  // held records. Nothing an officer can explain makes that safe: the server must list the
  // hold as its acts say (a release is an act of its own, logged, not a listing that drops it).
  if (f.kind === 'hold-mismatch')
    return "the server's hold listing disagrees with the hold acts the log proves; it stays a finding until the server lists the hold as its acts say";
  return null;
}

/** The reason, trimmed and checked; INVALID_OPTIONS says what is wrong. */
export function checkReason(reason: string): string {
  const r = reason.trim();
  if (r.length === 0)
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'the reason must not be empty: say why the finding is explained',
    );
  if (r.length > MAX_ACKNOWLEDGEMENT_REASON_CHARS)
    throw new ConsoleError(
      'INVALID_OPTIONS',
      `the reason must be at most ${MAX_ACKNOWLEDGEMENT_REASON_CHARS} characters`,
    );
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(r))
    throw new ConsoleError('INVALID_OPTIONS', 'the reason must be one line without control characters');
  return r;
}

/**
 * Checks the ids before anything is signed: each shaped like a finding id, of this org, named
 * once. Another org's finding is FINDING_NOT_FOUND (this officer cannot see it).
 */
export function checkFindingIds(orgId: string, ids: readonly string[]): void {
  if (ids.length === 0) throw new ConsoleError('INVALID_OPTIONS', 'name at least one finding id');
  const seen = new Set<string>();
  for (const id of ids) {
    const org = findingIdOrg(id);
    if (org === null)
      throw new ConsoleError(
        'INVALID_OPTIONS',
        `'${id.slice(0, 80)}' is not a finding id (KIND/ORG/…, as 'custos console completeness' prints them)`,
      );
    if (org !== orgId)
      throw new ConsoleError(
        'FINDING_NOT_FOUND',
        `finding ${id} belongs to organisation ${org}; this profile is an officer of ${orgId}`,
      );
    if (seen.has(id)) throw new ConsoleError('INVALID_OPTIONS', `finding ${id} is named twice`);
    seen.add(id);
  }
}

/** What {@link acknowledgeFindings} needs of a completeness run: its findings, acknowledged or not. */
export interface CurrentFindings {
  readonly findings: readonly IdentifiedFinding[];
  readonly acknowledged: readonly AcknowledgedFinding[];
}

/**
 * Acknowledges each finding of `ids` with `reason`, as this officer: each must be a current,
 * unacknowledged finding of `current` (a completeness run of this session, made just before);
 * nothing is sent unless all are. Then signs and sends one statement per finding, and waits
 * until the verified log holds every act. Answers the verified acknowledgements, in `ids` order.
 */
export async function acknowledgeFindings(
  session: OfficerSession,
  ids: readonly string[],
  reasonText: string,
  current: CurrentFindings,
  options: {
    readonly onProgress?: (message: string) => void;
    readonly now?: number;
    /** The log reader the completeness run used: then only what the log grew by is read. */
    readonly readLog?: VerifiedLogReader;
  } = {},
): Promise<VerifiedAcknowledgement[]> {
  const reason = checkReason(reasonText);
  checkFindingIds(session.orgId, ids);
  for (const id of ids) {
    const done = current.acknowledged.find((f) => f.id === id);
    if (done !== undefined)
      throw new ConsoleError(
        'FINDING_ACKNOWLEDGED',
        `finding ${id} is already acknowledged (by officer ${done.acknowledgement.officerIndex + 1}, ` +
          `${new Date(done.acknowledgement.acknowledgedAt).toISOString()}, log ${done.acknowledgement.logIndex}); nothing was sent`,
      );
    const finding = current.findings.find((f) => f.id === id);
    if (finding === undefined)
      throw new ConsoleError(
        'FINDING_NOT_FOUND',
        `no current finding has the id ${id}: 'custos console completeness' lists them; nothing was sent`,
      );
    const why = notAcknowledgeable(finding);
    if (why !== null)
      throw new ConsoleError(
        'FINDING_NOT_ACKNOWLEDGEABLE',
        `finding ${id} cannot be acknowledged: ${why}; nothing was sent`,
      );
  }
  const at = options.now ?? Date.now();
  for (const id of ids) {
    const statement = encodeFindingAcknowledgement({
      orgId: session.orgId,
      findingId: id,
      reason,
      officerIndex: session.officerIndex,
      at,
    });
    const signature = session.officer.keys.signingKey.sign(findingAcknowledgementMessage(statement));
    await session.call('POST', `/v1/orgs/${session.orgId}/archive/completeness/acknowledgements`, {
      statement: Buffer.from(statement).toString('base64url'),
      signature: Buffer.from(signature).toString('base64url'),
    });
    options.onProgress?.(`acknowledged ${id}; waiting for its log entry`);
  }
  const readLog = options.readLog ?? verifiedLogReader(session, options.onProgress);
  for (let attempt = 1; ; attempt++) {
    const read = await readAcknowledgements(session, await readLog());
    const found = ids.map((id) => read.verified.get(id));
    if (found.every((a) => a !== undefined)) return found;
    if (attempt >= LOG_CATCH_UP_ATTEMPTS)
      throw new ConsoleError(
        'LOG_INVALID',
        `the server accepted the acknowledgement(s) but the verified log does not show ${ids.filter((_, i) => found[i] === undefined).join(', ')} after ${LOG_CATCH_UP_ATTEMPTS} reads: check again later; if they never show, the server is not to be trusted`,
      );
    await new Promise((r) => setTimeout(r, LOG_CATCH_UP_DELAY_MS));
  }
}
