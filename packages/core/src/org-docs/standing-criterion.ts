/**
 * The signed envelope of a standing criterion (docs/officers.md "Legal holds", "Lexicon
 * rules"): an officer seals a lexicon rule's terms or a hold's query to every officer (HPKE,
 * in the console) and signs the seals with their officer signing key. Payload exactly
 * `{ v: 1, typ: "standing-criterion", org, kind: "rule"|"hold", by, seals: [{ i, enc, ct }…] }`,
 * signed under {@link STANDING_CRITERION_DOMAIN}. The payload names its signer (`by`, an
 * officer index), so the reader checks the shape first, then asks the caller for that
 * officer's key and verifies before returning anything.
 */
import { isCborMap } from '../record/deterministic-cbor.js';
import {
  badField,
  isUint,
  openSignerNamedDocument,
  sealSignedDocument,
  type OrgDocSigner,
} from './signed-document.js';

/** Domain of standing-criterion signatures. */
export const STANDING_CRITERION_DOMAIN = 'custos-standing-criterion-v1';
/** Most seals (one per officer). */
const MAX_SEALS = 100;
const TYP = 'standing-criterion';
const WHAT = 'standing criterion';
const FIELDS = ['v', 'typ', 'org', 'kind', 'by', 'seals'] as const;

/** One officer's HPKE seal of a criterion (opaque here). */
export interface CriterionSeal {
  readonly i: number;
  readonly enc: Uint8Array;
  readonly ct: Uint8Array;
}

/** What a standing criterion's signature covers. */
export interface SignedCriterion {
  readonly org: string;
  readonly kind: 'rule' | 'hold';
  /** The officer who signed it (made it, or last re-sealed it). */
  readonly by: number;
  readonly seals: readonly CriterionSeal[];
}

function checkSeal(x: unknown): CriterionSeal {
  if (
    !isCborMap(x) ||
    Object.keys(x).sort().join() !== 'ct,enc,i' ||
    !isUint(x.i) ||
    !(x.enc instanceof Uint8Array) ||
    !(x.ct instanceof Uint8Array)
  )
    badField(WHAT, 'seals', 'entries must be { i, enc: bytes, ct: bytes }');
  return { i: x.i, enc: x.enc, ct: x.ct };
}

function checkCriterion(m: Readonly<Record<string, unknown>>): SignedCriterion {
  if (typeof m.org !== 'string') badField(WHAT, 'org');
  if (m.kind !== 'rule' && m.kind !== 'hold') badField(WHAT, 'kind', 'must be rule or hold');
  if (!isUint(m.by)) badField(WHAT, 'by', 'must be an officer index');
  if (!Array.isArray(m.seals) || m.seals.length > MAX_SEALS)
    badField(WHAT, 'seals', `must list at most ${MAX_SEALS} seals`);
  const seals = (m.seals as unknown[]).map(checkSeal);
  if (new Set(seals.map((s) => s.i)).size !== seals.length)
    badField(WHAT, 'seals', 'repeats an officer index');
  return { org: m.org, kind: m.kind, by: m.by, seals };
}

/** Signs a criterion's seals with the officer signing key of officer `c.by`. */
export function sealStandingCriterion(c: SignedCriterion, officerSigningKey: OrgDocSigner): Uint8Array {
  const fields = {
    v: 1,
    typ: TYP,
    org: c.org,
    kind: c.kind,
    by: c.by,
    seals: c.seals.map((s) => ({ i: s.i, enc: s.enc, ct: s.ct })),
  };
  checkCriterion(fields);
  return sealSignedDocument(STANDING_CRITERION_DOMAIN, fields, officerSigningKey);
}

/**
 * Checks a criterion's shape, then verifies its signature with `signingKeyOf(by)` — the raw
 * Ed25519 key of the officer it names (the callback throws when that officer is unknown).
 * SIGNATURE_INVALID or MALFORMED_INPUT.
 */
export function openStandingCriterion(
  bytes: Uint8Array,
  signingKeyOf: (officerIndex: number) => Uint8Array,
): SignedCriterion {
  return openSignerNamedDocument(
    WHAT,
    bytes,
    STANDING_CRITERION_DOMAIN,
    TYP,
    FIELDS,
    checkCriterion,
    (c) => c.by,
    signingKeyOf,
  );
}
