/**
 * A standing criterion's seal (docs/officers.md "Legal holds", "Lexicon rules"): the rule's
 * terms or the hold's query or conversation id, HPKE-sealed to every officer in org.json and
 * signed with the sealing officer's signing key. The signed envelope is core's
 * (org-docs/standing-criterion.ts); this file seals and opens the officers' copies.
 *
 * Invariants: a criterion is used only when its signature verifies with the signing key of
 * the officer it names, in this profile's org.json — a server cannot make an officer derive
 * tokens for words of its choosing; the seal's AAD binds org, kind and label (rule name or
 * hold matter), so the server cannot move a criterion to another rule or matter.
 */
import {
  BucketPublicKey,
  decodeStrictCborMap,
  encodeDeterministicCbor,
  isCustosError,
  openStandingCriterion,
  sealStandingCriterion,
  type CriterionSeal,
  type SignedCriterion,
} from '@custos/core';
import { ConsoleError } from './console-error.js';
import { hpkeOpen, hpkeSeal } from './hpke-box.js';
import { decodeOfficerPublicKey } from './officer-keys.js';
import type { OfficerSession } from './officer-session.js';
import { fromB64u } from './profile-files.js';

/** HPKE info of a sealed criterion. */
const CRITERION_INFO = 'custos-standing-criterion-seal-v1';

/** What a criterion holds: a rule's terms, or a hold's query or conversation id. */
export type Criterion =
  | { readonly kind: 'rule'; readonly terms: readonly string[] }
  | { readonly kind: 'hold'; readonly query: string; readonly matchDiacritics: boolean }
  | { readonly kind: 'hold'; readonly conversationId: string };

const aadOf = (org: string, kind: string, label: string, i: number): Uint8Array =>
  encodeDeterministicCbor({ org, kind, label, i });

/**
 * Seals `c` to every officer in org.json and signs it; `label` is the rule name or hold
 * matter. `keep`: seals already made (by a verified criterion) reused for the officers they
 * name that are still listed, so a re-seal adds only the officers who lack one.
 */
export async function sealCriterion(
  s: OfficerSession,
  c: Criterion,
  label: string,
  keep: readonly CriterionSeal[] = [],
): Promise<Uint8Array> {
  const plain = encodeDeterministicCbor(
    c.kind === 'rule'
      ? { terms: [...c.terms] }
      : 'query' in c
        ? { query: c.query, md: c.matchDiacritics }
        : { conversationId: c.conversationId },
  );
  const seals: CriterionSeal[] = [];
  for (const o of s.officer.org.officers) {
    const kept = keep.find((x) => x.i === o.index);
    if (kept !== undefined) {
      seals.push({ i: o.index, enc: kept.enc, ct: kept.ct });
      continue;
    }
    const hpke = await BucketPublicKey.fromBytes(decodeOfficerPublicKey(fromB64u(o.publicKey)).hpke);
    const box = await hpkeSeal(hpke, CRITERION_INFO, aadOf(s.orgId, c.kind, label, o.index), plain);
    seals.push({ i: o.index, enc: box.enc, ct: box.ct });
  }
  return sealStandingCriterion(
    { org: s.orgId, kind: c.kind, by: s.officerIndex, seals },
    s.officer.keys.signingKey,
  );
}

function bad(what: string, why: string, cause?: unknown): never {
  throw new ConsoleError(
    'SERVER_REFUSED',
    `the sealed criterion of ${what} ${why}: stop and tell the other officers`,
    { cause },
  );
}

/**
 * Checks a criterion's signature against the officer it names in org.json (an officer list
 * adopted only after it verified with the pinned org key): PROFILE_INVALID when that officer
 * is no longer listed, SERVER_REFUSED when the signature or the content is wrong.
 */
export function verifyCriterion(
  s: OfficerSession,
  bytes: Uint8Array,
  kind: Criterion['kind'],
  what: string,
): SignedCriterion {
  const signingKeyOf = (by: number): Uint8Array => {
    const signer = s.officer.org.officers.find((o) => o.index === by);
    if (signer === undefined)
      throw new ConsoleError(
        'PROFILE_INVALID',
        `made by officer ${by + 1}, who is no longer an officer: make it again`,
      );
    return decodeOfficerPublicKey(fromB64u(signer.publicKey)).signing;
  };
  let c: SignedCriterion;
  try {
    c = openStandingCriterion(bytes, signingKeyOf);
  } catch (e) {
    if (isCustosError(e, 'SIGNATURE_INVALID'))
      bad(what, 'does not verify with the signing key of the officer it names', e);
    if (isCustosError(e)) bad(what, `is malformed (${e.message})`, e);
    throw e;
  }
  if (c.org !== s.orgId || c.kind !== kind) bad(what, 'is for another organisation or kind');
  return c;
}

/** Opens this officer's seal of a verified criterion; null when it holds none for them. */
export async function openSeal(
  s: OfficerSession,
  v: SignedCriterion,
  kind: Criterion['kind'],
  label: string,
  what: string,
): Promise<Criterion | null> {
  const mine = v.seals.find((x) => x.i === s.officerIndex);
  if (mine === undefined) return null;
  const plain = await hpkeOpen(
    s.officer.keys.hpkePrivateKey,
    CRITERION_INFO,
    aadOf(s.orgId, kind, label, s.officerIndex),
    { enc: mine.enc, ct: mine.ct },
  ).catch((e: unknown) => {
    throw new ConsoleError('SERVER_REFUSED', `the sealed criterion of ${what} does not open for ${label}`, {
      cause: e,
    });
  });
  const c = decodeStrictCborMap(plain, 'criterion', 'MALFORMED_INPUT');
  if (kind === 'rule' && Array.isArray(c.terms) && c.terms.every((t) => typeof t === 'string'))
    return { kind, terms: c.terms };
  if (kind === 'hold' && typeof c.query === 'string')
    return { kind, query: c.query, matchDiacritics: c.md === true };
  if (kind === 'hold' && typeof c.conversationId === 'string')
    return { kind, conversationId: c.conversationId };
  return bad(what, 'holds no criterion of its kind');
}

/**
 * Opens this officer's seal of a criterion, after checking its signature against org.json.
 * Null when the criterion has no seal for this officer (made before they joined, not re-sealed yet).
 */
export async function openCriterion(
  s: OfficerSession,
  bytes: Uint8Array,
  kind: Criterion['kind'],
  label: string,
  what: string,
): Promise<Criterion | null> {
  return openSeal(s, verifyCriterion(s, bytes, kind, what), kind, label, what);
}
