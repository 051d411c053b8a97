/**
 * Which officer list was in force at a point of the org's log (docs/officers.md "Completeness
 * and alerts", §5): a disposition certificate is checked against the officers and quorum in
 * force when it was executed, not against today's org.json, so a lawful disposition stays
 * lawful after an approver is removed or the quorum raised, and an officer added later can
 * check older certificates too.
 *
 * Nothing here is the server's word. The lists before and after each change come from:
 *
 * - the ceremony's list: the profile's own org.json (`ceremonyOfficerList`, kept when a later
 *   list is adopted and handed to officers added later; or org.json's officers while it has
 *   adopted no list) — the same trust anchor as the org signing key it pins;
 * - each change: the `officers.change` acts of the verified log, in log order, each naming
 *   its list's SHA-256 (`list-sha256=…`), and the signed lists the server keeps
 *   (`GET /v1/orgs/:orgId/officers/history`), each verified with the org signing key org.json
 *   pins and matched to its act by hash.
 *
 * Invariants: the served history must hold, in the log's order, one list per change act of
 * the verified log, each with that act's document and hashing to the list it names; a change
 * act without its list, lists out of order, or a list that does not verify stops the caller
 * (SERVER_REFUSED): a withheld change never silently falls back to another list. Lists the
 * server holds past the verified log (a change not yet in a signed checkpoint) are left for the
 * next run: no certificate of the verified log can have been executed under them.
 */
import { createHash } from 'node:crypto';
import { openOfficerList, type LogEntry } from '@custos/core';
import { checkActDocument } from './audit/officer-audit.js';
import { ConsoleError } from './console-error.js';
import type { OfficerSession } from './officer-session.js';
import { fromB64u, type OrgFile } from './profile-files.js';
import { readServedDocument, refuseServed } from './served-document.js';
import { keyFingerprint } from './signing-key.js';

/** The officers whose approvals count, and how many are needed. */
export interface OfficerListInForce {
  readonly quorum: number;
  readonly officers: readonly { readonly index: number; readonly publicKey: string }[];
}

/** One change of the served history: the signed list and the act document that logged it. */
export interface ServedOfficerChange {
  readonly list: Uint8Array;
  /** The `officers.change` act document; null while the act is not yet in the log. */
  readonly act: Uint8Array | null;
}

/** The org's officer lists over its log, each from the log index its change act has. */
export interface OfficerListHistory {
  /** The list in force at log index `logIndex`: the last change logged before it, or the ceremony's. */
  at(logIndex: number): OfficerListInForce;
}

/** The audit-event kind of an officer change in the log (server audit-sequencing.ts). */
const CHANGE_KIND = 'officers-change';

const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function refuse(why: string): never {
  return refuseServed('officer list history', why);
}

/** The ceremony's list as this profile holds it, or null when it adopted a later list before keeping it. */
export function ceremonyOfficerList(org: OrgFile): OfficerListInForce | null {
  if (org.ceremonyOfficerList !== undefined) return org.ceremonyOfficerList;
  return org.officerListIssuedAt === undefined ? { quorum: org.officerQuorum, officers: org.officers } : null;
}

/**
 * org.json about to take a later list: it keeps the ceremony's list (when it still holds it),
 * which a disposition executed before the first change is checked against.
 */
export function keepCeremonyList(org: OrgFile): OrgFile {
  const ceremony = ceremonyOfficerList(org);
  return ceremony === null ? org : { ...org, ceremonyOfficerList: ceremony };
}

/** The org's current list, as org.json holds it. */
export function currentOfficerList(org: OrgFile): OfficerListInForce {
  return { quorum: org.officerQuorum, officers: org.officers };
}

/**
 * Builds the history from the verified log's entries (`entries[i]` is leaf i) and the served
 * changes (oldest first); pure. SERVER_REFUSED when the served history does not account for a
 * change act of the log (module comment); LOG_INVALID when an act document does not match its
 * entry.
 */
export function officerListHistory(
  org: OrgFile,
  entries: readonly { readonly index: number; readonly entry: LogEntry }[],
  served: readonly ServedOfficerChange[],
): OfficerListHistory {
  const signing = fromB64u(org.signingPublicKey);
  if (keyFingerprint(signing) !== org.signingKeyFingerprint)
    throw new ConsoleError('PROFILE_INVALID', "org.json's signing key does not match its fingerprint");
  const changes: { logIndex: number; list: OfficerListInForce }[] = [];
  let issuedAfter = -1;
  for (const { index, entry } of entries) {
    if (entry.type !== 'audit-event' || entry.kind !== CHANGE_KIND) continue;
    const n = changes.length;
    const where = `the officer change at log index ${index} (${new Date(entry.time).toISOString()})`;
    const s = served[n];
    if (s === undefined)
      refuse(
        `holds ${served.length} officer list(s), but the org's log records more changes: ${where} has no ` +
          'list; the server is withholding officer list history',
      );
    if (s.act === null) refuse(`gives no log act for its list ${n + 1}, which the log records as ${where}`);
    const hashOf = sha256Hex(s.act);
    if (hashOf !== Buffer.from(entry.hash).toString('hex'))
      refuse(
        `names another act for its list ${n + 1} than the log records as ${where} (reordered or withheld)`,
      );
    const doc = checkActDocument(org.orgId, entry, s.act, index);
    const named = /(?:^| )list-sha256=([0-9a-f]{64})(?: |$)/.exec(doc.det ?? '')?.[1];
    if (doc.kind !== 'officers.change' || named === undefined) refuse(`${where}: its act names no list hash`);
    if (sha256Hex(s.list) !== named) refuse(`list ${n + 1} is not the list ${where} names (sha256 ${named})`);
    const list = readServedDocument('officer list history', () => openOfficerList(s.list, signing));
    if (list.org !== org.orgId) refuse(`list ${n + 1} names another organisation`);
    if (list.issuedAt <= issuedAfter) refuse(`list ${n + 1} is not newer than the one before it`);
    issuedAfter = list.issuedAt;
    changes.push({
      logIndex: index,
      list: {
        quorum: list.quorum,
        officers: list.officers.map((o) => ({ index: o.index, publicKey: b64u(o.publicKey) })),
      },
    });
  }
  const ceremony = ceremonyOfficerList(org);
  return {
    at(logIndex) {
      let inForce: OfficerListInForce | null = ceremony;
      for (const c of changes) if (c.logIndex < logIndex) inForce = c.list;
      if (inForce === null)
        throw new ConsoleError(
          'PROFILE_INVALID',
          `log index ${logIndex} precedes the org's first officer change, and this profile's org.json does not ` +
            "hold the ceremony's officer list (ceremonyOfficerList): copy it from an org.json of the ceremony",
        );
      return inForce;
    },
  };
}

/**
 * The org's officer list history over the verified log `entries`: asks the server only when
 * the log records an officer change (otherwise every list in force is the ceremony's).
 */
export function readOfficerListHistory(
  s: OfficerSession,
  entries: readonly { readonly index: number; readonly entry: LogEntry }[],
): Promise<OfficerListHistory> {
  // One completeness run asks for it three times over the same verified log (dispositions,
  // officer bindings, acknowledgements): later calls take the first's answer, not another request.
  const known = historyRead.get(entries);
  if (known !== undefined && known.session === s) return known.history;
  const history = fetchOfficerListHistory(s, entries);
  historyRead.set(entries, { session: s, history });
  history.catch(() => historyRead.delete(entries));
  return history;
}

/** The history read over each verified log's entries (the array itself is the key), per session. */
const historyRead = new WeakMap<
  object,
  { readonly session: OfficerSession; readonly history: Promise<OfficerListHistory> }
>();

async function fetchOfficerListHistory(
  s: OfficerSession,
  entries: readonly { readonly index: number; readonly entry: LogEntry }[],
): Promise<OfficerListHistory> {
  const org = s.officer.org;
  if (!entries.some(({ entry: e }) => e.type === 'audit-event' && e.kind === CHANGE_KIND)) {
    // No change in the log: the lists in force are the ceremony's, which org.json holds unless
    // it adopted a change the verified log does not show yet (then the history says so).
    return officerListHistory(org, entries, []);
  }
  const r = await s.call('GET', `/v1/orgs/${s.orgId}/officers/history`);
  if (!Array.isArray(r.changes)) refuse('answer lacks its changes');
  const served = (r.changes as unknown[]).map((c): ServedOfficerChange => {
    const x = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    if (typeof x.list !== 'string' || (x.act !== null && typeof x.act !== 'string'))
      refuse('answer has a change without its list or act');
    return { list: fromB64u(x.list), act: x.act === null ? null : fromB64u(x.act) };
  });
  return officerListHistory(org, entries, served);
}
