/**
 * `custos console audit` (docs/officers.md "Audit"): every officer and admin act in the
 * org's log, verified without trusting the server. For each act: the entry decodes, its
 * inclusion proof leads to a checkpoint signed by the pinned log key; when the server
 * serves the act document, its SHA-256 is the entry's hash and its org, actor, time and
 * kind agree with the entry. Each checkpoint the listing uses must extend the last one this
 * profile verified (log-state.ts: consistency proofs; rollback and forks refused), which
 * advances only when it does.
 */
import { createHash } from 'node:crypto';
import {
  decodeLogEntry,
  decodeStrictCborMap,
  hashLeaf,
  verifyInclusion,
  type Checkpoint,
  type LogEntry,
} from '@custos/core';
import { auditAnswerLimit } from '@custos/client/answer-limits';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { actKind, describeAct, type ActDocument } from './audit-words.js';
import { pinnedLogOf } from './log-pin.js';
import { PROFILE_LOG_STATE_FILE, trustCheckpoint, type TrustedCheckpoint } from './log-state.js';

/** Where the profile keeps the last checkpoint it verified (every officer command shares it). */
export const AUDIT_STATE_FILE = PROFILE_LOG_STATE_FILE;
/** Acts read per request. */
const AUDIT_PAGE = 500;

/** One verified act. */
export interface VerifiedAct {
  readonly index: number;
  readonly time: number;
  /** The device (or `bootstrap`) that acted. */
  readonly actor: string;
  /**
   * The officer index the acting device is bound to, from its `officer-bind` act earlier in the
   * verified listing (docs/officers.md §2); absent for other devices, or when the listing
   * started after the binding (`--since`).
   */
  readonly officerIndex?: number;
  /** The entry kind (`user-role`, `device-enrolled`, `hold`, …). */
  readonly kind: string;
  readonly type: LogEntry['type'];
  readonly subject: string | null;
  readonly detail: string | null;
  /** The act in words. */
  readonly text: string;
  /** Whether an act document was served and matched the entry. */
  readonly document: boolean;
  readonly entryHash: string;
}

/** What `officerAudit` found. */
export interface AuditResult {
  readonly acts: readonly VerifiedAct[];
  readonly treeSize: number;
  /** The tree size this profile saw before, if any. */
  readonly previousTreeSize: number | undefined;
  /** `stale`: the server showed a prefix of the tree this profile saw before (kept stored). */
  readonly outcome: 'first-seen' | 'unchanged' | 'extended' | 'stale';
  readonly log: { readonly origin: string; readonly verifierKey: string };
}

/** Filters. */
export interface AuditOptions {
  /** Only acts at or after this instant (ms). */
  readonly since?: number;
  /** Only acts of these kinds (entry kinds, or `hold` / `disposition`). */
  readonly kinds?: readonly string[];
  readonly onProgress?: (message: string) => void;
}

const b64 = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s))
    throw new ConsoleError('SERVER_REFUSED', `the audit listing: ${what} is not base64url`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
};

/** Parses and checks an act document against its entry; LOG_INVALID names what disagrees. */
export function checkActDocument(orgId: string, e: LogEntry, doc: Uint8Array, index: number): ActDocument {
  const where = `act at log index ${index}`;
  if (e.type !== 'audit-event' && e.type !== 'key-event')
    throw new ConsoleError('LOG_INVALID', `${where}: a document for a ${e.type} entry`);
  if (!Buffer.from(createHash('sha256').update(doc).digest()).equals(Buffer.from(e.hash)))
    throw new ConsoleError('LOG_INVALID', `${where}: the document does not hash to the entry's hash`);
  const v = decodeStrictCborMap(doc, `the document of the ${where}`, 'MALFORMED_LOG_ENTRY');
  const keys = Object.keys(v).sort().join(',');
  if (
    (keys !== 'act,at,kind,org,sub' && keys !== 'act,at,det,kind,org,sub') ||
    typeof v.org !== 'string' ||
    typeof v.kind !== 'string' ||
    typeof v.act !== 'string' ||
    typeof v.sub !== 'string' ||
    !Number.isSafeInteger(v.at) ||
    (v.det !== undefined && typeof v.det !== 'string')
  )
    throw new ConsoleError('LOG_INVALID', `${where}: the document is not an act document`);
  const doc2 = v as unknown as ActDocument;
  const kindOk =
    e.type === 'audit-event'
      ? e.kind === doc2.kind.replaceAll('.', '-')
      : (doc2.kind === 'device.register' && e.kind === 'device-enrolled') ||
        (doc2.kind === 'device.revoke' && e.kind === 'device-revoked');
  if (doc2.org !== orgId || doc2.act !== e.actor || doc2.at !== e.time || !kindOk)
    throw new ConsoleError(
      'LOG_INVALID',
      `${where}: the document names another org, actor, time or kind than the entry`,
    );
  if (e.type === 'key-event' && doc2.sub !== e.subject)
    throw new ConsoleError('LOG_INVALID', `${where}: the document names another subject than the entry`);
  return doc2;
}

/**
 * Checks one act of an audit listing: its entry is in `cp` (already verified against the
 * pinned log key), is an officer or admin act, and the served document, if any, matches it.
 */
export function verifyListedAct(
  orgId: string,
  a: Record<string, unknown>,
  index: number,
  cp: Checkpoint,
): { entry: LogEntry; document: ActDocument | null } {
  if (!Array.isArray(a.proof))
    throw new ConsoleError('SERVER_REFUSED', 'the audit listing: an act lacks index or proof');
  const entry = b64(a.entry, 'an entry');
  try {
    verifyInclusion(
      hashLeaf(entry),
      index,
      cp.treeSize,
      (a.proof as unknown[]).map((p) => b64(p, 'a proof hash')),
      cp.rootHash,
    );
  } catch (e) {
    throw new ConsoleError(
      'LOG_INVALID',
      `the act at log index ${index} is not in the signed checkpoint (its inclusion proof fails)`,
      { cause: e },
    );
  }
  const e = decodeLogEntry(entry);
  if (e.type === 'archive-record' || e.type === 'relay-receipt')
    throw new ConsoleError('LOG_INVALID', `the audit listing names a ${e.type} at log index ${index}`);
  const doc = a.document === null || a.document === undefined ? null : b64(a.document, 'a document');
  const parsed = doc === null ? null : checkActDocument(orgId, e, doc, index);
  return { entry: e, document: parsed };
}

/** Why a listing page that names a next page but lists no act is refused. */
export const NO_PROGRESS =
  'the audit listing names a next page but this one lists no act: its cursor does not move';

/** Lists and verifies the org's officer and admin acts. */
export async function officerAudit(
  session: OfficerSession,
  options: AuditOptions = {},
): Promise<AuditResult> {
  const log = await pinnedLogOf(session);
  const checkpoints = new Map<string, Checkpoint>();
  let first: TrustedCheckpoint | undefined;
  let treeSize = 0;
  const acts: VerifiedAct[] = [];
  // Device → officer index, from the officer-bind acts seen so far (bindings never change).
  const boundOfficers = new Map<string, number>();
  let after: string | null = null;
  // The last act listed, kept or filtered out: every page must move past it.
  let lastIndex = -1;
  for (;;) {
    const qs = [`limit=${AUDIT_PAGE}`];
    if (options.since !== undefined) qs.push(`since=${Math.max(0, Math.floor(options.since))}`);
    if (after !== null) qs.push(`after=${after}`);
    const r = await session.call('GET', `/v1/orgs/${session.orgId}/audit?${qs.join('&')}`, undefined, {
      maxAnswerBytes: auditAnswerLimit(AUDIT_PAGE),
    });
    const cpOut = r.checkpoint as { note?: unknown } | undefined;
    if (
      !Array.isArray(r.acts) ||
      typeof cpOut?.note !== 'string' ||
      (r.next !== null && typeof r.next !== 'string')
    )
      throw new ConsoleError('SERVER_REFUSED', 'the audit listing lacks acts, checkpoint or next');
    let cp = checkpoints.get(cpOut.note);
    if (cp === undefined) {
      const trusted = await trustCheckpoint(session, log, cpOut.note, 'the audit listing');
      first ??= trusted;
      cp = trusted.checkpoint;
      treeSize = Math.max(treeSize, cp.treeSize);
      checkpoints.set(cpOut.note, cp);
    }
    for (const a of r.acts as Record<string, unknown>[]) {
      if (!Number.isSafeInteger(a.index) || !Array.isArray(a.proof))
        throw new ConsoleError('SERVER_REFUSED', 'the audit listing: an act lacks index or proof');
      const index = a.index as number;
      if (index <= lastIndex)
        throw new ConsoleError('LOG_INVALID', `the audit listing is out of order at log index ${index}`);
      lastIndex = index;
      const { entry: e, document: parsed } = verifyListedAct(session.orgId, a, index, cp);
      const bind = e.type === 'audit-event' && e.kind === 'officer-bind' && parsed !== null;
      const officer = bind ? /(?:^| )officer=(\d{1,2})(?: |$)/.exec(parsed.det ?? '')?.[1] : undefined;
      if (bind && officer !== undefined && !boundOfficers.has(parsed.sub))
        boundOfficers.set(parsed.sub, Number(officer));
      const officerIndex = boundOfficers.get(e.actor);
      if (options.since !== undefined && e.time < options.since) continue;
      const kind = actKind(e);
      if (options.kinds !== undefined && options.kinds.length > 0 && !options.kinds.includes(kind)) continue;
      acts.push({
        index,
        time: e.time,
        actor: e.actor,
        ...(officerIndex === undefined ? {} : { officerIndex }),
        kind,
        type: e.type,
        subject: parsed?.sub ?? (e.type === 'key-event' ? e.subject : null),
        detail: parsed?.det ?? null,
        text: describeAct(e, parsed),
        document: parsed !== null,
        entryHash: Buffer.from(e.hash).toString('hex'),
      });
    }
    options.onProgress?.(`${acts.length} act(s) verified`);
    if (r.next === null) break;
    // Acts strictly ascend across pages, so a page with none would be asked for again and again.
    if (r.acts.length === 0) throw new ConsoleError('SERVER_REFUSED', NO_PROGRESS);
    after = r.next;
  }
  // Every page carries a checkpoint, so the first one was trusted on the first page.
  const previousTreeSize = first?.previousTreeSize;
  return {
    acts,
    treeSize,
    previousTreeSize,
    outcome:
      first?.outcome === 'first-seen' || previousTreeSize === undefined
        ? 'first-seen'
        : treeSize === previousTreeSize
          ? 'unchanged'
          : treeSize < previousTreeSize
            ? 'stale'
            : 'extended',
    log,
  };
}
