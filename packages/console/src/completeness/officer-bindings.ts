/**
 * The completeness check's officer-binding findings (docs/officers.md §2 and "Completeness and
 * alerts"). A device acts for an officer only once that officer has signed a binding naming the
 * org and the device (core org-docs/officer-device-binding.ts); the server keeps the statement
 * and logs an `officer-bind` act whose document commits to its SHA-256 and the officer index.
 * From then on every act of the device is that officer's — in `custos console audit`, and in
 * the server's OFFICER_NOT_SIGNER check of approvals, acknowledgements and releases. The log
 * carries only the hash, so without this check the console would take the server's word on
 * which officer stands behind a device: a server could log a binding no officer signed.
 *
 * So, for each `officer-bind` entry of the verified log, against the statements the server
 * serves (GET …/officer-bindings, read after the log: statement and act are stored in one
 * transaction, so every bound device of the verified log has its statement by then):
 * - `missing`: the server serves no statement for the device the act binds (its actor);
 * - `altered`: the served statement, with the officer index served, is not what the act's
 *   document commits to (the document is rebuilt from the entry: actor, time, kind);
 * - `unsigned`: it is what the act commits to, but it is malformed, names an officer who was
 *   not in the officer list in force at the act's log index (officer-list-history.ts), or its
 *   signature does not verify with that officer's registered key — no officer signed it;
 * - `misdirected`: it verifies, but names another organisation, another device than the act,
 *   or another officer than the act's detail.
 * None is acknowledgeable (finding-acknowledgements.ts notAcknowledgeable): the server must
 * serve the officer's statement, and one it cannot serve says an act of the log claims an
 * officer stands behind a device when no officer said so.
 *
 * Not checked here: the statement's identity-key hash against the device's enrolment act (the
 * server checked it when binding; the console would have to read the audit listing for it),
 * and bindings the server serves without an act in the log (they attribute nothing the log shows).
 */
import { createHash } from 'node:crypto';
import { openOfficerDeviceBinding, type OfficerDeviceBinding } from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { ConsoleError } from '../console-error.js';
import { isUint } from '../json-values.js';
import { decodeOfficerPublicKey } from '../officer-keys.js';
import type { OfficerListHistory } from '../officer-list-history.js';
import type { OfficerSession } from '../officer-session.js';
import { fromB64u } from '../profile-files.js';
import type { OfficerBindingFinding } from './completeness-findings.js';
import type { IndexedEntry } from './verified-log.js';

/** Bindings asked for per page (the server's largest list page). */
const BINDINGS_PAGE = 500;
/** The entry kind of a binding act (the document's kind is `officer.bind`). */
const ENTRY_KIND = 'officer-bind';
const ACT_KIND = 'officer.bind';

/** What of a binding act does not stand, one code per kind (the finding's `aspect`). */
export type BindingAspect = 'missing' | 'altered' | 'unsigned' | 'misdirected';

/** One binding as the server lists it, shape-checked. */
export interface ServedBinding {
  readonly deviceId: string;
  readonly officerIndex: number;
  readonly boundAt: number;
  /** The officer-signed statement (envelope `[payload, signature]`), as stored. */
  readonly statement: Uint8Array;
}

type Json = Record<string, unknown>;

const refused = (why: string): ConsoleError =>
  new ConsoleError('SERVER_REFUSED', `GET …/officer-bindings: ${why}`);

function listed(v: Json): ServedBinding {
  if (
    typeof v.deviceId !== 'string' ||
    !isUint(v.officerIndex) ||
    !isUint(v.boundAt) ||
    typeof v.statement !== 'string'
  )
    throw refused('a binding lacks required fields');
  return {
    deviceId: v.deviceId,
    officerIndex: v.officerIndex,
    boundAt: v.boundAt,
    statement: fromB64u(v.statement),
  };
}

/**
 * Every binding the server serves (each device once). `bound` is how many `officer-bind` acts
 * the verified log holds: a server paging far beyond them is only making the check run on.
 */
export async function readOfficerBindings(session: OfficerSession, bound: number): Promise<ServedBinding[]> {
  const out = new Map<string, ServedBinding>();
  let after: string | null = null;
  for (;;) {
    const q: string = `limit=${BINDINGS_PAGE}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
    const r = await session.call('GET', `/v1/orgs/${session.orgId}/officer-bindings?${q}`);
    if (!Array.isArray(r.bindings) || (r.next !== null && typeof r.next !== 'string'))
      throw refused('the answer lacks bindings or next');
    let fresh = 0;
    for (const v of r.bindings as Json[]) {
      const b = listed(v);
      if (out.has(b.deviceId)) continue;
      out.set(b.deviceId, b);
      fresh++;
    }
    if (r.next === null) return [...out.values()];
    if (out.size > bound + BINDINGS_PAGE)
      throw refused(`serves more than the ${bound} binding(s) the log records`);
    // A page that brings nothing new would be paged for ever.
    if (fresh === 0) throw refused('a page repeats the previous ones');
    after = r.next;
  }
}

/** The `officer-bind` entries of `entries`, in log order. */
export function bindingEntries(entries: readonly IndexedEntry[]): IndexedEntry[] {
  return entries.filter(({ entry: e }) => e.type === 'audit-event' && e.kind === ENTRY_KIND);
}

/**
 * One finding per `officer-bind` act of `entries` whose statement does not stand, in log order:
 * checked against `served` (the server's listing) and the officer lists in force (`officers`,
 * asked only for a statement the act commits to).
 */
export function bindingFindings(
  orgId: string,
  entries: readonly IndexedEntry[],
  served: readonly ServedBinding[],
  officers: Pick<OfficerListHistory, 'at'>,
): OfficerBindingFinding[] {
  const byDevice = new Map(served.map((b) => [b.deviceId, b]));
  const out: OfficerBindingFinding[] = [];
  for (const { index, entry } of bindingEntries(entries)) {
    const deviceId = entry.actor;
    const problem = actProblem(orgId, entry, index, byDevice.get(deviceId), officers);
    if (problem !== null)
      out.push({
        kind: 'officer-binding',
        deviceId,
        logIndex: index,
        aspect: problem.aspect,
        problem: problem.why,
      });
  }
  return out;
}

/** Why the binding act at `logIndex` does not stand on `served`, or null when it does. */
function actProblem(
  orgId: string,
  entry: IndexedEntry['entry'],
  logIndex: number,
  served: ServedBinding | undefined,
  officers: Pick<OfficerListHistory, 'at'>,
): { aspect: BindingAspect; why: string } | null {
  const deviceId = entry.actor;
  if (served === undefined)
    return {
      aspect: 'missing',
      why: 'the server serves no officer-signed statement for it: nothing shows an officer bound this device',
    };
  // The act's document, rebuilt from the entry (the device binds itself: actor and subject)
  // and the served statement: only the statement the act commits to can match its hash.
  const detail = `officer=${served.officerIndex} statement-sha256=${sha256Hex(served.statement)}`;
  const want = auditDocumentHash(orgId, {
    kind: ACT_KIND,
    actor: deviceId,
    subject: deviceId,
    at: entry.time,
    detail,
  });
  if (want !== Buffer.from(entry.hash).toString('hex'))
    return {
      aspect: 'altered',
      why: 'the statement the server serves for it is not the one its act commits to (altered, or another)',
    };
  // Outside the try: a profile that cannot say which officers were in office (PROFILE_INVALID)
  // stops the run, as everywhere else, rather than blaming the server for an unsigned binding.
  const inForce = officers.at(logIndex);
  let b: OfficerDeviceBinding;
  try {
    b = openOfficerDeviceBinding(served.statement, (i) => officerSigningKey(inForce, i));
  } catch (e) {
    return {
      aspect: 'unsigned',
      why: `no officer signed it: ${e instanceof Error ? e.message : 'does not verify'}`,
    };
  }
  if (b.org !== orgId)
    return { aspect: 'misdirected', why: `its statement names another organisation (${b.org})` };
  if (b.deviceId !== deviceId)
    return {
      aspect: 'misdirected',
      why: `its statement names another device (${b.deviceId}) than the act binds`,
    };
  if (b.officerIndex !== served.officerIndex)
    return {
      aspect: 'misdirected',
      why: `its statement is signed by officer ${b.officerIndex + 1}, the act names officer ${served.officerIndex + 1}`,
    };
  return null;
}

/** Officer `i`'s raw signing key in the list `inForce` (the act's); throws naming why there is none. */
function officerSigningKey(inForce: ReturnType<OfficerListHistory['at']>, i: number): Uint8Array {
  const officer = inForce.officers.find((o) => o.index === i);
  if (officer === undefined)
    throw new Error(`it is signed as officer ${i + 1}, who was not an officer when it was logged`);
  return decodeOfficerPublicKey(fromB64u(officer.publicKey)).signing;
}

function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
