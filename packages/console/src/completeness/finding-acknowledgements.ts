/**
 * Officers' acknowledgements of completeness findings (docs/officers.md, "Completeness and
 * alerts"). A finding an officer investigated and explained — records lost with a wiped
 * phone, a lost device's silence — is acknowledged once, by its stable id (finding-ids.ts),
 * with a reason; later checks list it apart and no longer fail on it. Any other finding,
 * a new gap of the same device included, still fails. A revoked device's finding keeps its id
 * while its state grows: its acknowledgement signs the state accepted, and covers the finding
 * only while it is within it (revoked-acknowledgements.ts); beyond it, the finding fails again
 * naming the acknowledgement and what it did not accept, and can be acknowledged again.
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
  findingAcknowledgementActDetail,
  findingAcknowledgementMessage,
} from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { ConsoleError } from '../console-error.js';
import { isUint } from '../json-values.js';
import { decodeOfficerPublicKey } from '../officer-keys.js';
import { readOfficerListHistory, type OfficerListHistory } from '../officer-list-history.js';
import type { OfficerSession } from '../officer-session.js';
import { fromB64u } from '../profile-files.js';
import { verifyEd25519 } from '../signing-key.js';
import { revokedIdParts, type IdentifiedFinding } from './finding-ids.js';
import {
  beyondAccepted,
  parseLegacyRevokedId,
  parseRevokedState,
  revokedState,
  type RevokedState,
} from './revoked-acknowledgements.js';
import type { VerifiedLog } from './verified-log.js';

/** Acknowledgements asked for per page (statements are at most ~14 KB as base64url). */
const ACKNOWLEDGEMENTS_PAGE = 100;
/** The kind of the act, in its document and (with `.` as `-`) in its log entry. */
const ACT_KIND = 'completeness.acknowledge';

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
  /**
   * Of a revoked device's finding: the state it accepted (signed with it, or named by an id from
   * before states). It covers the finding while the finding is within it.
   */
  readonly accepted?: RevokedState;
}

/** Every verified acknowledgement (a finding may have several, one per accepted state), and what did not verify. */
export interface AcknowledgementsRead {
  readonly verified: readonly VerifiedAcknowledgement[];
  /** One sentence per acknowledgement that does not count (served but not verified, or logged but not served). */
  readonly problems: readonly string[];
}

/** An acknowledged finding as the report shows it. */
export type AcknowledgedFinding = IdentifiedFinding & { readonly acknowledgement: VerifiedAcknowledgement };

/** A finding an earlier acknowledgement no longer covers: it accepted less than there is now. */
export interface ExceededAcknowledgement {
  /** The latest acknowledgement of the finding. */
  readonly acknowledgement: VerifiedAcknowledgement;
  /** What it did not accept, e.g. `7 unarchived receipt(s), 5 acknowledged`; phrases joined by `; `. */
  readonly beyond: string;
}

/** A finding no acknowledgement covers; `exceedsAcknowledgement` when one covered less of it. */
export type OpenFinding = IdentifiedFinding & { readonly exceedsAcknowledgement?: ExceededAcknowledgement };

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
  const accepted = acceptedState(a.findingId, st.state);
  if (typeof accepted === 'string') return `${what}: ${accepted}; it covers nothing`;
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
    ...(accepted === null ? {} : { accepted }),
  };
}

/**
 * What a statement for `findingId` with `state` (its version 2 `saw`) accepted: a revoked
 * device's state, null for a finding that has none, or why it cannot be read — a state is never
 * guessed, so an acknowledgement whose state this console cannot read covers nothing.
 */
function acceptedState(findingId: string, state: string | undefined): RevokedState | null | string {
  if (revokedIdParts(findingId) !== null) {
    if (state === undefined) return 'its statement records no state of the revoked device';
    return parseRevokedState(state) ?? `its statement records a state this console cannot read (${state})`;
  }
  const legacy = findingId.startsWith('revoked/') ? parseLegacyRevokedId(findingId) : null;
  if (findingId.startsWith('revoked/') && legacy === null)
    return 'it names a revoked-device finding in no form this console knows';
  if (state !== undefined) return `its statement records a state (${state}), which this finding has none of`;
  return legacy === null ? null : legacy.state;
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
  const verified: VerifiedAcknowledgement[] = [];
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
      // A finding may have several (one per accepted state): the statement tells them apart.
      const key = `${a.findingId} ${Buffer.from(a.statement).toString('base64url')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      fresh++;
      const out = verifyOne(session, a, logged, history);
      if (typeof out === 'string') problems.push(out);
      else verified.push(out);
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
  const used = new Set(verified.map((v) => v.logIndex));
  for (const index of [...logged.values()].sort((x, y) => x - y))
    if (!used.has(index))
      problems.push(
        `log entry ${index}: an acknowledgement the server does not serve or that does not verify; its finding is not acknowledged`,
      );
  return { verified, problems };
}

/**
 * Splits findings into those still failing and those a verified acknowledgement covers — by
 * exact id: an acknowledgement covers its own finding and nothing else. A revoked device's
 * finding is covered by an acknowledgement that accepted at least its state (its own id, or an
 * id from before states naming the same device); one that accepted less leaves it failing,
 * with `exceedsAcknowledgement` saying how.
 */
export function applyAcknowledgements(
  findings: readonly IdentifiedFinding[],
  verified: readonly VerifiedAcknowledgement[],
): { findings: OpenFinding[]; acknowledged: AcknowledgedFinding[] } {
  const byId = new Map<string, VerifiedAcknowledgement[]>();
  const byRevokedDevice = new Map<string, VerifiedAcknowledgement[]>();
  for (const a of [...verified].sort((x, y) => x.logIndex - y.logIndex)) {
    byId.set(a.findingId, [...(byId.get(a.findingId) ?? []), a]);
    const legacy = parseLegacyRevokedId(a.findingId);
    if (legacy !== null)
      byRevokedDevice.set(legacy.deviceId, [...(byRevokedDevice.get(legacy.deviceId) ?? []), a]);
  }
  const open: OpenFinding[] = [];
  const acknowledged: AcknowledgedFinding[] = [];
  for (const f of findings) {
    // What one officer may not explain away stays open, acknowledged or not.
    if (notAcknowledgeable(f) !== null) {
      open.push(f);
      continue;
    }
    if (f.kind !== 'revoked-device') {
      const a = byId.get(f.id)?.[0];
      if (a === undefined) open.push(f);
      else acknowledged.push({ ...f, acknowledgement: a });
      continue;
    }
    const acks = [...(byRevokedDevice.get(f.deviceId) ?? []), ...(byId.get(f.id) ?? [])].sort(
      (x, y) => x.logIndex - y.logIndex,
    );
    const now = revokedState(f);
    const covering = acks.filter(
      (a) => a.accepted !== undefined && beyondAccepted(a.accepted, now).length === 0,
    );
    const latest = acks[acks.length - 1];
    if (covering.length > 0) acknowledged.push({ ...f, acknowledgement: covering[covering.length - 1]! });
    else if (latest === undefined) open.push(f);
    else
      open.push({
        ...f,
        exceedsAcknowledgement: {
          acknowledgement: latest,
          beyond: beyondAccepted(latest.accepted!, now).join('; '),
        },
      });
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
 * would hide the state in which the next plan destroys held records — all but a release logged
 * before releases were signed, which an officer confirms so. Device-side losses (a wiped phone's gap, a silent or revoked device, a receipt
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
  // Except a release logged before releases were signed: the log cannot tell it from one the
  // server wrote itself, but the officer who released it can, and their colleague's signed
  // acknowledgement (after asking them) is the officer decision the act lacks.
  // The log says an officer stands behind a device's acts; only that officer's statement shows
  // it. No colleague can vouch for a signature the server does not produce.
  if (f.kind === 'officer-binding')
    return "the log's officer binding is not backed by the officer's signed statement; it stays a finding until the server serves the statement its act commits to";
  if (f.kind === 'hold-mismatch' && f.aspect !== 'unsigned-release')
    return "the server's hold listing disagrees with the hold acts the log proves; it stays a finding until the server lists the hold as its acts say";
  return null;
}
