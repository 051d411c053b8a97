/**
 * The signed officer list (docs/officers.md §5, docs/keys.md §7): the org signing key names
 * the complete set of officers, their quorum, the users who lose the role officer with this
 * change, and the issue time. Payload exactly
 * `{ v: 1, typ: "officer-list", org, m, off: [{ i, pk }…], usr: [user id…], iat }`, signed
 * under {@link OFFICER_LIST_DOMAIN}. The server installs it; every officer adopts it.
 */
import { isCborMap } from '../record/deterministic-cbor.js';
import {
  badField,
  isUint,
  openTypedDocument,
  sealSignedDocument,
  type OrgDocSigner,
} from './signed-document.js';

/** Domain of officer-list signatures. */
export const OFFICER_LIST_DOMAIN = 'custos-officer-list-v1';
/**
 * Most officers in a list, and the index space (0–99, as the officer-wrap route accepts).
 * Larger than the ceremony's 32 (console defaults.ts) on purpose: indexes are never reused
 * after a removal, so they outgrow the officer count over the org's life.
 */
export const MAX_OFFICERS = 100;
/** Smallest officer public key document (bytes). */
export const MIN_OFFICER_KEY_BYTES = 32;
/** Largest officer public key document (bytes). */
export const MAX_OFFICER_KEY_BYTES = 2048;
const TYP = 'officer-list';
const WHAT = 'officer list';
const FIELDS = ['v', 'typ', 'org', 'm', 'off', 'usr', 'iat'] as const;

/** One officer of a list: their index and public key document. */
export interface ListedOfficer {
  readonly index: number;
  readonly publicKey: Uint8Array;
}

/** An officer list's content. */
export interface OfficerList {
  readonly org: string;
  readonly quorum: number;
  readonly officers: readonly ListedOfficer[];
  /** Users whose role officer is withdrawn with this change. */
  readonly demote: readonly string[];
  readonly issuedAt: number;
}

function checkOfficer(o: unknown): ListedOfficer {
  if (!isCborMap(o) || Object.keys(o).sort().join() !== 'i,pk')
    badField(WHAT, 'off', 'entries must be { i, pk }');
  if (!isUint(o.i) || o.i >= MAX_OFFICERS) badField(WHAT, 'off', `indexes must be 0 to ${MAX_OFFICERS - 1}`);
  const pk = o.pk;
  if (!(pk instanceof Uint8Array) || pk.length < MIN_OFFICER_KEY_BYTES || pk.length > MAX_OFFICER_KEY_BYTES)
    badField(WHAT, 'off', `public keys must be ${MIN_OFFICER_KEY_BYTES} to ${MAX_OFFICER_KEY_BYTES} bytes`);
  return { index: o.i, publicKey: pk };
}

function checkList(m: Readonly<Record<string, unknown>>): OfficerList {
  if (typeof m.org !== 'string') badField(WHAT, 'org');
  if (!isUint(m.iat)) badField(WHAT, 'iat', 'must be a ms time');
  if (!isUint(m.m)) badField(WHAT, 'm');
  if (!Array.isArray(m.off) || m.off.length === 0 || m.off.length > MAX_OFFICERS)
    badField(WHAT, 'off', `must list 1 to ${MAX_OFFICERS} officers`);
  const officers = (m.off as unknown[]).map(checkOfficer);
  if (new Set(officers.map((o) => o.index)).size !== officers.length)
    badField(WHAT, 'off', 'repeats an officer index');
  if (m.m < 1 || m.m > officers.length) badField(WHAT, 'm', 'must be from 1 to the number of officers');
  if (!Array.isArray(m.usr) || m.usr.length > MAX_OFFICERS || m.usr.some((u) => typeof u !== 'string'))
    badField(WHAT, 'usr', 'must be a list of user ids');
  return { org: m.org, quorum: m.m, officers, demote: m.usr as string[], issuedAt: m.iat };
}

/** Signs an officer list with the org signing key. */
export function sealOfficerList(list: OfficerList, orgSigningKey: OrgDocSigner): Uint8Array {
  const fields = {
    v: 1,
    typ: TYP,
    org: list.org,
    m: list.quorum,
    off: list.officers.map((o) => ({ i: o.index, pk: o.publicKey })),
    usr: [...list.demote],
    iat: list.issuedAt,
  };
  checkList(fields);
  return sealSignedDocument(OFFICER_LIST_DOMAIN, fields, orgSigningKey);
}

/** Verifies an officer list with the raw org signing key and checks its shape; SIGNATURE_INVALID or MALFORMED_INPUT. */
export function openOfficerList(bytes: Uint8Array, orgSigningPublicKey: Uint8Array): OfficerList {
  const m = openTypedDocument(WHAT, bytes, OFFICER_LIST_DOMAIN, orgSigningPublicKey, TYP, FIELDS);
  return checkList(m);
}
