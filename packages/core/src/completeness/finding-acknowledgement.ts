/**
 * Finding acknowledgements (docs/officers.md, "Completeness and alerts"): an officer's signed
 * statement that one completeness finding — named by its stable id, which says what it covers
 * (kind, org, device, sequence range or log index) — has been investigated, and why it is
 * explained. The daily check then lists the finding as acknowledged instead of failing on it
 * for ever; any other finding, including a new gap of the same device, still fails.
 *
 *   statement = deterministic CBOR { v: 1, typ: "finding-acknowledgement", org, fnd, why, off, at }
 *             | deterministic CBOR { v: 2, typ: "finding-acknowledgement", org, fnd, why, off, at, saw }
 *   signature = Ed25519(officer signing key, "custos-finding-acknowledgement-v1" || 0x00 || statement)
 *
 * `fnd` is the finding id, `why` the officer's reason (the server keeps it in clear, like a
 * hold's release reason), `off` the officer's index in the org's officer list, `at` the time
 * the officer signed (ms). Version 2 adds `saw`: the state of the finding the officer saw and
 * accepted, for a finding whose id names a thing that can grow while staying the same thing (a
 * revoked device's revocation, whose unarchived receipts become visible over time: console
 * finding-ids.ts). Its id stays the same, so what the acknowledgement covers must be signed with
 * it; the console judges a later state against it. Findings without such a state are signed as
 * version 1, byte for byte as before. Which is which is the id's form: `revoked/ORG/DEVICE/LOG_INDEX`
 * takes version 2 and no other id does (check refuses either way round). The domain stays `…-v1`: it names what the signature is
 * for, and the statement's own `v` (signed) says which layout it has, so a version 2 statement
 * never reads as a version 1 one. The server verifies the signature before it stores the statement
 * and logs a `completeness-acknowledge` act whose document commits to the statement's SHA-256;
 * consoles check the signature and the log entry again, so the server can neither forge an
 * acknowledgement nor move one onto another finding.
 */
import { createHash } from 'node:crypto';
import { CustosError } from '../errors.js';
import { decodeStrictMap, encodeDeterministic } from '../record/deterministic-cbor.js';

/** Signature domain of finding acknowledgements. */
export const FINDING_ACKNOWLEDGEMENT_DOMAIN = 'custos-finding-acknowledgement-v1';
/** Longest finding id, in characters (kind, org, device, range: real ids are under 120). */
export const MAX_FINDING_ID_CHARS = 400;
/** Longest reason, in characters. */
export const MAX_ACKNOWLEDGEMENT_REASON_CHARS = 2_000;
/** Longest state (version 2's `saw`), in characters: `unarchived=N,handed-in=FROM-TO:COUNT,gaps=COUNT:SHA256`. */
export const MAX_FINDING_STATE_CHARS = 400;
/** Largest encoded statement (a reason of multi-byte characters included). */
export const MAX_ACKNOWLEDGEMENT_BYTES = 10_240;

/** What an officer signs to acknowledge a finding. */
export interface FindingAcknowledgement {
  readonly orgId: string;
  /** The finding's id (console finding-ids.ts), e.g. `gap/ORG/DEVICE/5-7`. */
  readonly findingId: string;
  /** Why the finding is explained; trimmed, no control characters. */
  readonly reason: string;
  readonly officerIndex: number;
  /** When the officer signed, ms since the epoch. */
  readonly at: number;
  /**
   * The finding's state the officer saw and accepted (version 2), for findings that have one
   * (console finding-ids.ts); absent: a version 1 statement.
   */
  readonly state?: string;
}

const FINDING_ID = /^[a-z][a-z-]*(\/[A-Za-z0-9._:-]+)+$/;
const FINDING_STATE = /^[A-Za-z0-9._:=,-]+$/;
/**
 * The one form of id whose finding has a state: a revoked device's revocation,
 * `revoked/ORG/DEVICE/LOG_INDEX` (console finding-ids.ts). Its statement must sign one, and
 * no other may: a state on another finding, or none on this one, would be a second row and
 * act (the server keys acknowledgements by finding and state) that consoles count for nothing.
 */
const STATEFUL_FINDING_ID = /^revoked\/[^/]+\/[^/]+\/(0|[1-9][0-9]{0,14})$/;

const bad = (code: 'INVALID_ARGUMENT' | 'MALFORMED_INPUT', what: string): CustosError =>
  new CustosError(code, `finding acknowledgement: ${what}`);

/** Checks every field; throws `code` naming the first bad one. */
function check(a: FindingAcknowledgement, code: 'INVALID_ARGUMENT' | 'MALFORMED_INPUT'): void {
  if (typeof a.orgId !== 'string' || a.orgId.length === 0) throw bad(code, 'org must be an id');
  if (
    typeof a.findingId !== 'string' ||
    a.findingId.length > MAX_FINDING_ID_CHARS ||
    !FINDING_ID.test(a.findingId)
  )
    throw bad(code, 'the finding id must be KIND/ORG/… (letters, digits, . _ : - between slashes)');
  if (a.findingId.split('/')[1] !== a.orgId) throw bad(code, 'the finding id names another organisation');
  if (typeof a.reason !== 'string' || a.reason.trim() !== a.reason || a.reason.length === 0)
    throw bad(code, 'the reason must be non-empty text without leading or trailing spaces');
  if (a.reason.length > MAX_ACKNOWLEDGEMENT_REASON_CHARS)
    throw bad(code, `the reason must be at most ${MAX_ACKNOWLEDGEMENT_REASON_CHARS} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(a.reason)) throw bad(code, 'the reason must hold no control characters');
  if (!Number.isSafeInteger(a.officerIndex) || a.officerIndex < 0)
    throw bad(code, 'the officer index must be an integer >= 0');
  if (!Number.isSafeInteger(a.at) || a.at < 0) throw bad(code, 'the time must be an integer >= 0 (ms)');
  if (
    a.state !== undefined &&
    (typeof a.state !== 'string' || a.state.length > MAX_FINDING_STATE_CHARS || !FINDING_STATE.test(a.state))
  )
    throw bad(
      code,
      `the state must be 1–${MAX_FINDING_STATE_CHARS} characters of letters, digits and . _ : = , -`,
    );
  const stateful = STATEFUL_FINDING_ID.test(a.findingId);
  if (stateful && a.state === undefined)
    throw bad(code, `the state is required for a revoked device's finding (${a.findingId})`);
  if (!stateful && a.state !== undefined)
    throw bad(
      code,
      `the state is only for a revoked device's finding (revoked/ORG/DEVICE/LOG_INDEX), not ${a.findingId}`,
    );
}

/** The statement's deterministic CBOR bytes; INVALID_ARGUMENT for a malformed acknowledgement. */
export function encodeFindingAcknowledgement(a: FindingAcknowledgement): Uint8Array {
  check(a, 'INVALID_ARGUMENT');
  const v1 = {
    v: 1,
    typ: 'finding-acknowledgement',
    org: a.orgId,
    fnd: a.findingId,
    why: a.reason,
    off: a.officerIndex,
    at: a.at,
  };
  return encodeDeterministic(a.state === undefined ? v1 : { ...v1, v: 2, saw: a.state });
}

/** Decodes and checks a statement; MALFORMED_INPUT for anything but the one encoding of a valid one. */
export function decodeFindingAcknowledgement(bytes: Uint8Array): FindingAcknowledgement {
  if (bytes.length > MAX_ACKNOWLEDGEMENT_BYTES)
    throw bad('MALFORMED_INPUT', `larger than ${MAX_ACKNOWLEDGEMENT_BYTES} bytes`);
  const m = decodeStrictMap(bytes, 'finding acknowledgement', 'MALFORMED_INPUT');
  const keys = Object.keys(m).sort().join(',');
  const v1 = keys === 'at,fnd,off,org,typ,v,why' && m.v === 1;
  const v2 = keys === 'at,fnd,off,org,saw,typ,v,why' && m.v === 2;
  if (!(v1 || v2) || m.typ !== 'finding-acknowledgement')
    throw bad('MALFORMED_INPUT', 'not a version 1 or 2 finding-acknowledgement document');
  const a = {
    orgId: m.org as string,
    findingId: m.fnd as string,
    reason: m.why as string,
    officerIndex: m.off as number,
    at: m.at as number,
    ...(v2 ? { state: m.saw as string } : {}),
  };
  check(a, 'MALFORMED_INPUT');
  return a;
}

/**
 * The detail of the `completeness-acknowledge` act that logs `statement`: `statement-sha256=`
 * and the statement's SHA-256 in hex. The server writes it; consoles rebuild it to find the
 * act's log entry, so both take it from here.
 */
export function findingAcknowledgementActDetail(statement: Uint8Array): string {
  return `statement-sha256=${createHash('sha256').update(statement).digest('hex')}`;
}

/** The bytes an officer signs: the domain, 0x00, the statement. */
export function findingAcknowledgementMessage(statement: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(FINDING_ACKNOWLEDGEMENT_DOMAIN, 'utf8'), Buffer.from([0]), statement]);
}
