/**
 * The officer-device binding (docs/officers.md §2, separation of duties): an officer signs,
 * with their officer signing key, that one enrolled device acts for them. Payload exactly
 * `{ v: 1, typ: "officer-device-binding", org, dev, idk: bstr(32), i, iat }` — `dev` the device
 * id, `idk` the SHA-256 of the device's registered identity key (so the statement is useless
 * for any other device, even one given the same id), `i` the officer index that signs — under
 * {@link OFFICER_DEVICE_BINDING_DOMAIN}. The payload names its signer, so the reader checks the
 * shape first, then asks the caller for officer `i`'s key (from the org's current officer list)
 * and verifies before returning anything.
 *
 * Why: the role `officer` is granted by admins; the officer keys are not. A device acts as an
 * officer only with this statement from a listed officer, so an admin cannot make themself one.
 */
import {
  badField,
  isKey32,
  isUint,
  openSignerNamedDocument,
  sealSignedDocument,
  type OrgDocSigner,
} from './signed-document.js';
import { MAX_OFFICERS } from './officer-list.js';

/** Domain of officer-device binding signatures. */
export const OFFICER_DEVICE_BINDING_DOMAIN = 'custos-officer-device-binding-v1';
const TYP = 'officer-device-binding';
const WHAT = 'officer device binding';
const FIELDS = ['v', 'typ', 'org', 'dev', 'idk', 'i', 'iat'] as const;
/** Longest device id accepted (ids are 22 characters; room for other id schemes). */
const MAX_DEVICE_ID_LENGTH = 64;

/** What an officer-device binding's signature covers. */
export interface OfficerDeviceBinding {
  readonly org: string;
  readonly deviceId: string;
  /** SHA-256 of the device's identity public key as registered (32 bytes). */
  readonly identityKeyHash: Uint8Array;
  /** The signing officer's index in the org's officer list. */
  readonly officerIndex: number;
  readonly issuedAt: number;
}

function checkBinding(m: Readonly<Record<string, unknown>>): OfficerDeviceBinding {
  if (typeof m.org !== 'string') badField(WHAT, 'org');
  if (typeof m.dev !== 'string' || m.dev.length === 0 || m.dev.length > MAX_DEVICE_ID_LENGTH)
    badField(WHAT, 'dev', 'must be a device id');
  if (!isKey32(m.idk)) badField(WHAT, 'idk', 'must be the 32-byte SHA-256 of the identity key');
  if (!isUint(m.i) || m.i >= MAX_OFFICERS)
    badField(WHAT, 'i', `must be an officer index 0 to ${MAX_OFFICERS - 1}`);
  if (!isUint(m.iat)) badField(WHAT, 'iat', 'must be a ms time');
  return { org: m.org, deviceId: m.dev, identityKeyHash: m.idk, officerIndex: m.i, issuedAt: m.iat };
}

/** Signs a binding with the officer signing key of officer `b.officerIndex`. */
export function sealOfficerDeviceBinding(
  b: OfficerDeviceBinding,
  officerSigningKey: OrgDocSigner,
): Uint8Array {
  const fields = {
    v: 1,
    typ: TYP,
    org: b.org,
    dev: b.deviceId,
    idk: b.identityKeyHash,
    i: b.officerIndex,
    iat: b.issuedAt,
  };
  checkBinding(fields);
  return sealSignedDocument(OFFICER_DEVICE_BINDING_DOMAIN, fields, officerSigningKey);
}

/**
 * Checks a binding's shape, then verifies its signature with `signingKeyOf(i)` — the raw
 * Ed25519 key of the officer it names (the callback throws when that officer is not listed).
 * SIGNATURE_INVALID or MALFORMED_INPUT.
 */
export function openOfficerDeviceBinding(
  bytes: Uint8Array,
  signingKeyOf: (officerIndex: number) => Uint8Array,
): OfficerDeviceBinding {
  return openSignerNamedDocument(
    WHAT,
    bytes,
    OFFICER_DEVICE_BINDING_DOMAIN,
    TYP,
    FIELDS,
    checkBinding,
    (b) => b.officerIndex,
    signingKeyOf,
  );
}
