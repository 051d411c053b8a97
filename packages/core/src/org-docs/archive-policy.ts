/**
 * The organisation's archive policy statement (docs/client.md, "Archive policy"): whether
 * the organisation archives its users' conversations (`required`) or not (`none`), signed
 * by the org signing key at the key ceremony. A device checks it against the org key it
 * pinned from its enrolment code, so a server cannot turn an archiving organisation's
 * capture off by serving `none`: that needs the org signing key.
 *
 * Payload exactly `{ v: 1, typ: "archive-policy", org, name, policy }` with policy
 * `"required"` or `"none"`, signed under {@link ARCHIVE_POLICY_DOMAIN} (envelope:
 * signed-document.ts). `org` binds the statement to one organisation (it cannot be replayed
 * for another) and `name` to the name devices show in the archive notice.
 */
import { CustosError } from '../errors.js';
import { isWellFormedId } from '../record/ids.js';
import { badField, openTypedDocument, sealSignedDocument, type OrgDocSigner } from './signed-document.js';

/** Domain of archive policy signatures. */
export const ARCHIVE_POLICY_DOMAIN = 'custos-archive-policy-v1';
/** The policies an organisation may state. `required` is the default of a key ceremony. */
export const ARCHIVE_POLICIES = ['required', 'none'] as const;
/** One of {@link ARCHIVE_POLICIES}. */
export type ArchivePolicyName = (typeof ARCHIVE_POLICIES)[number];
/** Longest organisation name a statement may carry (the server's limit on names). */
export const MAX_ORG_NAME_LENGTH = 200;
/** Largest statement accepted: the name is the only variable part. */
export const MAX_ARCHIVE_POLICY_BYTES = 1024;

const TYP = 'archive-policy';
const WHAT = 'archive policy statement';
const FIELDS = ['v', 'typ', 'org', 'name', 'policy'] as const;

/** What an archive policy statement says. */
export interface ArchivePolicyStatement {
  /** The organisation's id. */
  readonly org: string;
  /** The organisation's name, as devices show it in the archive notice. */
  readonly name: string;
  readonly policy: ArchivePolicyName;
}

/** True when `v` names a policy. */
export function isArchivePolicyName(v: unknown): v is ArchivePolicyName {
  return typeof v === 'string' && (ARCHIVE_POLICIES as readonly string[]).includes(v);
}

function checkStatement(m: Readonly<Record<string, unknown>>): ArchivePolicyStatement {
  if (!isWellFormedId(m.org)) badField(WHAT, 'org', 'is not a well-formed id');
  if (typeof m.name !== 'string' || m.name.length === 0 || m.name.length > MAX_ORG_NAME_LENGTH)
    badField(WHAT, 'name', `must be 1..${MAX_ORG_NAME_LENGTH} characters`);
  if (!isArchivePolicyName(m.policy))
    badField(WHAT, 'policy', `must be one of ${ARCHIVE_POLICIES.join(', ')}`);
  return { org: m.org, name: m.name, policy: m.policy };
}

/** Signs `s` with the org signing key; returns the document. */
export function sealArchivePolicy(s: ArchivePolicyStatement, orgSigningKey: OrgDocSigner): Uint8Array {
  const fields = { v: 1, typ: TYP, org: s.org, name: s.name, policy: s.policy };
  checkStatement(fields);
  return sealSignedDocument(ARCHIVE_POLICY_DOMAIN, fields, orgSigningKey);
}

/**
 * Verifies `document` with the raw org signing key and returns what it states:
 * SIGNATURE_INVALID when the signature does not verify, MALFORMED_INPUT naming the fault
 * otherwise, OVERSIZED_INPUT above {@link MAX_ARCHIVE_POLICY_BYTES}. The caller checks `org`
 * (and `name`) against the organisation it expects.
 */
export function openArchivePolicy(
  document: Uint8Array,
  orgSigningPublicKey: Uint8Array,
): ArchivePolicyStatement {
  if (document.length > MAX_ARCHIVE_POLICY_BYTES)
    throw new CustosError('OVERSIZED_INPUT', `${WHAT}: larger than ${MAX_ARCHIVE_POLICY_BYTES} bytes`);
  const m = openTypedDocument(WHAT, document, ARCHIVE_POLICY_DOMAIN, orgSigningPublicKey, TYP, FIELDS);
  return checkStatement(m);
}
