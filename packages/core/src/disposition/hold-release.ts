/**
 * Hold releases (docs/officers.md "Legal holds"): an officer's signed statement that one legal
 * hold ends, and why. A released hold no longer protects its records from disposition, so the
 * release is the officer's decision, not the server's word: the server verifies the signature
 * before it releases the hold and logs a `hold.release` act whose document commits to the
 * statement's SHA-256; consoles check the signature and the act again, so a server that writes
 * a release act of its own and lists the hold as released is caught (docs/threat-model.md).
 *
 *   statement = deterministic CBOR { v: 1, typ: "hold-release", org, hld, rsn, off, at }
 *   signature = Ed25519(officer signing key, "custos-hold-release-v1" || 0x00 || statement)
 *
 * `hld` is the hold id, `rsn` the SHA-256 (hex) of the release reason as the act records it
 * (the server keeps the reason in clear for officers' listings, as before), `off` the
 * officer's index in the org's officer list, `at` the time the officer signed (ms).
 */
import { createHash } from 'node:crypto';
import { CustosError } from '../errors.js';
import { decodeStrictMap, encodeDeterministic } from '../record/deterministic-cbor.js';
import { isWellFormedId } from '../record/ids.js';

/** Signature domain of hold releases. */
export const HOLD_RELEASE_DOMAIN = 'custos-hold-release-v1';
/** Largest encoded statement (ids of at most 64 characters and a 64-character hash: real ones are under 250 bytes). */
export const MAX_HOLD_RELEASE_BYTES = 1_024;

/** What an officer signs to release a hold. */
export interface HoldRelease {
  readonly orgId: string;
  readonly holdId: string;
  /** SHA-256 (lowercase hex) of the release reason, trimmed ({@link holdReleaseReasonHash}). */
  readonly reasonSha256: string;
  readonly officerIndex: number;
  /** When the officer signed, ms since the epoch. */
  readonly at: number;
}

const bad = (code: 'INVALID_ARGUMENT' | 'MALFORMED_INPUT', what: string): CustosError =>
  new CustosError(code, `hold release: ${what}`);

/** Checks every field; throws `code` naming the first bad one. */
function check(r: HoldRelease, code: 'INVALID_ARGUMENT' | 'MALFORMED_INPUT'): void {
  if (!isWellFormedId(r.orgId)) throw bad(code, 'org must be an id');
  if (!isWellFormedId(r.holdId)) throw bad(code, 'the hold must be an id');
  if (typeof r.reasonSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.reasonSha256))
    throw bad(code, 'the reason hash must be 64 lowercase hex digits');
  if (!Number.isSafeInteger(r.officerIndex) || r.officerIndex < 0)
    throw bad(code, 'the officer index must be an integer >= 0');
  if (!Number.isSafeInteger(r.at) || r.at < 0) throw bad(code, 'the time must be an integer >= 0 (ms)');
}

/** SHA-256 (hex) of a release reason, as the statement and the `hold.release` act name it. */
export function holdReleaseReasonHash(reason: string): string {
  return createHash('sha256').update(reason, 'utf8').digest('hex');
}

/** The statement's deterministic CBOR bytes; INVALID_ARGUMENT for a malformed release. */
export function encodeHoldRelease(r: HoldRelease): Uint8Array {
  check(r, 'INVALID_ARGUMENT');
  return encodeDeterministic({
    v: 1,
    typ: 'hold-release',
    org: r.orgId,
    hld: r.holdId,
    rsn: r.reasonSha256,
    off: r.officerIndex,
    at: r.at,
  });
}

/** Decodes and checks a statement; MALFORMED_INPUT for anything but the one encoding of a valid one. */
export function decodeHoldRelease(bytes: Uint8Array): HoldRelease {
  if (bytes.length > MAX_HOLD_RELEASE_BYTES)
    throw bad('MALFORMED_INPUT', `larger than ${MAX_HOLD_RELEASE_BYTES} bytes`);
  const m = decodeStrictMap(bytes, 'hold release', 'MALFORMED_INPUT');
  const keys = Object.keys(m).sort().join(',');
  if (keys !== 'at,hld,off,org,rsn,typ,v' || m.v !== 1 || m.typ !== 'hold-release')
    throw bad('MALFORMED_INPUT', 'not a version 1 hold-release document');
  const r = {
    orgId: m.org as string,
    holdId: m.hld as string,
    reasonSha256: m.rsn as string,
    officerIndex: m.off as number,
    at: m.at as number,
  };
  check(r, 'MALFORMED_INPUT');
  return r;
}

/**
 * The detail of the `hold.release` act: `reason-sha256=…` (as before signing) and
 * `statement-sha256=` with the statement's SHA-256, both hex. The server writes it; consoles
 * rebuild it to check the act, so both take it from here. Without a statement (a release
 * logged before releases were signed) it is the reason's hash alone.
 */
export function holdReleaseActDetail(reason: string, statement: Uint8Array | null): string {
  const r = `reason-sha256=${holdReleaseReasonHash(reason)}`;
  return statement === null
    ? r
    : `${r} statement-sha256=${createHash('sha256').update(statement).digest('hex')}`;
}

/** The bytes an officer signs: the domain, 0x00, the statement. */
export function holdReleaseMessage(statement: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(HOLD_RELEASE_DOMAIN, 'utf8'), Buffer.from([0]), statement]);
}
