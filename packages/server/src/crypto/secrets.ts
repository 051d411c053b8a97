/**
 * One-time secrets and bearer tokens: generated from the CSPRNG, handed out once, stored
 * only as SHA-256. Each kind has a versioned prefix so a secret of one kind can never be
 * accepted as another, and so secret scanners can recognise them.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { SECRET_BYTES } from '../config/defaults.js';
import { isIdShaped, type OrgId } from '../ids.js';

/** Prefix of the install's bootstrap token. */
export const BOOTSTRAP_PREFIX = 'cb1';
/** Prefix of enrolment codes. */
export const ENROLMENT_PREFIX = 'ce1';
/** Prefix of bearer tokens. */
export const BEARER_PREFIX = 'ct1';

const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** SHA-256 of a string (UTF-8) or bytes. */
export function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** A fresh 256-bit secret as unpadded base64url. */
export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** The fingerprint devices pin: base64url SHA-256 of the org signing public key. */
export function keyFingerprint(publicKey: Buffer): string {
  return sha256(publicKey).toString('base64url');
}

/** A new bootstrap token `cb1.<secret>`. */
export function newBootstrapToken(): string {
  return `${BOOTSTRAP_PREFIX}.${newSecret()}`;
}

/** True when `s` has the shape of a bootstrap token. */
export function isBootstrapTokenShaped(s: string): boolean {
  const [prefix, secret, ...rest] = s.split('.');
  return (
    prefix === BOOTSTRAP_PREFIX && secret !== undefined && SECRET_PATTERN.test(secret) && rest.length === 0
  );
}

/** A new enrolment code `ce1.<orgId>.<secret>.<fingerprint>`: the device learns which org key to pin from it. */
export function newEnrolmentCode(orgId: OrgId, fingerprint: string): string {
  return `${ENROLMENT_PREFIX}.${orgId}.${newSecret()}.${fingerprint}`;
}

/** Domain of the first admin's enrolment code derived from the bootstrap token. */
const FIRST_ADMIN_CODE_DOMAIN = 'custos-first-admin-enrolment-v1';

/**
 * The first admin's enrolment code, derived from the bootstrap token that creates the org:
 * HMAC-SHA256(token, domain || 0x00 || orgId). Only the token holder can compute it, and an
 * identical retry of POST /v1/orgs gets the same code back although the server keeps only
 * hashes. MUST NOT be used for any other code.
 */
export function firstAdminEnrolmentCode(bootstrapToken: string, orgId: OrgId, fingerprint: string): string {
  const secret = createHmac('sha256', bootstrapToken)
    .update(`${FIRST_ADMIN_CODE_DOMAIN}\0${orgId}`)
    .digest('base64url');
  return `${ENROLMENT_PREFIX}.${orgId}.${secret}.${fingerprint}`;
}

/** The parts of an enrolment code, or null when it is malformed. */
export function parseEnrolmentCode(code: string): { orgId: OrgId; fingerprint: string } | null {
  const [prefix, orgId, secret, fingerprint, ...rest] = code.split('.');
  if (prefix !== ENROLMENT_PREFIX || rest.length !== 0) return null;
  if (orgId === undefined || !isIdShaped(orgId)) return null;
  if (secret === undefined || !SECRET_PATTERN.test(secret)) return null;
  if (fingerprint === undefined || !SECRET_PATTERN.test(fingerprint)) return null;
  return { orgId: orgId as OrgId, fingerprint };
}

/** A new bearer token `ct1.<orgId>.<secret>`; the org id lets the lookup stay org-scoped. */
export function newBearerToken(orgId: OrgId): string {
  return `${BEARER_PREFIX}.${orgId}.${newSecret()}`;
}

/** The org of a bearer token, or null when it is malformed. */
export function parseBearerToken(token: string): { orgId: OrgId } | null {
  const [prefix, orgId, secret, ...rest] = token.split('.');
  if (prefix !== BEARER_PREFIX || rest.length !== 0) return null;
  if (orgId === undefined || !isIdShaped(orgId) || secret === undefined || !SECRET_PATTERN.test(secret))
    return null;
  return { orgId: orgId as OrgId };
}
