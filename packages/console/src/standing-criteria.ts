/**
 * Standing criteria — lexicon rules and query or conversation holds — extended to buckets
 * registered after they were made (docs/officers.md "Legal holds", "Lexicon rules"). The
 * server knows a rule or hold only as blind tokens per bucket, and a bucket's tokens need its
 * index key; so the officer who makes one also uploads its criterion (the rule's terms, the
 * hold's query or conversation id) sealed to every officer in org.json and signed with their
 * officer signing key. Later any officer opens their own seal, derives the tokens under a new
 * bucket's index key (exactly as search does) and registers them
 * (`POST …/review/rules/:ruleId/buckets`, `POST …/holds/:holdId/buckets`).
 *
 * Invariants: a criterion is used only when its signature verifies with the signing key of
 * the officer it names, in this profile's org.json — a server cannot make an officer derive
 * tokens for words of its choosing; the seal's AAD binds org, kind and label (rule name or
 * hold matter), so the server cannot move a criterion to another rule or matter. The server
 * sees tokens per bucket, the same leakage as placing the rule or hold there anew.
 *
 * An officer added later holds no seal of criteria made before: any officer who holds one
 * re-seals them to the officers of their org.json who lack one (`custos console reseal`, and
 * first thing in every extension), keeping the other seals and signing the new blob; the
 * server stores it opaque (`PUT …/sealed`, an audit act).
 */
import {
  decodeStrictCbor,
  encodeDeterministicCbor,
  tokensForQuery,
  BucketPublicKey,
  decodeStrictCborMap,
} from '@custos/core';
import { unwrapBucketKey } from './bucket-key-wrap.js';
import { findOfficerWrap } from './bucket-inventory.js';
import { ConsoleError, isConsoleError } from './console-error.js';
import { hpkeOpen, hpkeSeal } from './hpke-box.js';
import { decodeOfficerPublicKey } from './officer-keys.js';
import type { OfficerSession } from './officer-session.js';
import { parseSearchText } from './search/search-text.js';
import { fromB64u } from './profile-files.js';
import { verifyEd25519 } from './signing-key.js';

/** Domain of criterion signatures. */
export const CRITERION_DOMAIN = 'custos-standing-criterion-v1';
/** HPKE info of a sealed criterion. */
const CRITERION_INFO = 'custos-standing-criterion-seal-v1';
/** Most AND'ed tokens per bucket of a hold (the server's limit). */
const MAX_HOLD_TOKENS = 32;

/** What a criterion holds: a rule's terms, or a hold's query or conversation id. */
export type Criterion =
  | { readonly kind: 'rule'; readonly terms: readonly string[] }
  | { readonly kind: 'hold'; readonly query: string; readonly matchDiacritics: boolean }
  | { readonly kind: 'hold'; readonly conversationId: string };

type Json = Record<string, unknown>;

const aadOf = (org: string, kind: string, label: string, i: number): Uint8Array =>
  encodeDeterministicCbor({ org, kind, label, i });

/** One officer's seal of a criterion. */
interface Seal {
  readonly i: number;
  readonly enc: Uint8Array;
  readonly ct: Uint8Array;
}

/**
 * Seals `c` to every officer in org.json and signs it; `label` is the rule name or hold
 * matter. `keep`: seals already made (by a verified criterion) reused for the officers they
 * name that are still listed, so a re-seal adds only the officers who lack one.
 */
export async function sealCriterion(
  s: OfficerSession,
  c: Criterion,
  label: string,
  keep: readonly Seal[] = [],
): Promise<Uint8Array> {
  const plain = encodeDeterministicCbor(
    c.kind === 'rule'
      ? { terms: [...c.terms] }
      : 'query' in c
        ? { query: c.query, md: c.matchDiacritics }
        : { conversationId: c.conversationId },
  );
  const seals: Seal[] = [];
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
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'standing-criterion',
    org: s.orgId,
    kind: c.kind,
    by: s.officerIndex,
    seals,
  });
  const sig = s.officer.keys.signingKey.sign(signed(payload));
  return encodeDeterministicCbor([payload, sig]);
}

const signed = (payload: Uint8Array): Uint8Array =>
  Buffer.concat([Buffer.from(CRITERION_DOMAIN, 'ascii'), Buffer.of(0), payload]);

function bad(what: string, why: string): never {
  throw new ConsoleError(
    'SERVER_REFUSED',
    `the sealed criterion of ${what} ${why}: stop and tell the other officers`,
  );
}

/** A criterion whose signature verified with the key of a listed officer. */
interface VerifiedCriterion {
  /** The officer who signed it (made it, or last re-sealed it). */
  readonly by: number;
  readonly seals: readonly Seal[];
}

/**
 * Checks a criterion's signature against the officer it names in org.json (an officer list
 * adopted only after it verified with the pinned org key): PROFILE_INVALID when that officer
 * is no longer listed, SERVER_REFUSED when the signature or the content is wrong.
 */
function verifyCriterion(
  s: OfficerSession,
  bytes: Uint8Array,
  kind: Criterion['kind'],
  what: string,
): VerifiedCriterion {
  let payload: Uint8Array;
  let m: Json;
  try {
    const outer = decodeStrictCbor(bytes, 'criterion', 'MALFORMED_INPUT') as unknown[];
    if (!Array.isArray(outer) || outer.length !== 2) bad(what, 'is malformed');
    const [p, sig] = outer as [unknown, unknown];
    if (!(p instanceof Uint8Array) || !(sig instanceof Uint8Array)) bad(what, 'is malformed');
    payload = p;
    m = decodeStrictCborMap(payload, 'criterion payload', 'MALFORMED_INPUT');
    const signer = s.officer.org.officers.find((o) => o.index === m.by);
    if (signer === undefined)
      throw new ConsoleError(
        'PROFILE_INVALID',
        `made by officer ${Number(m.by) + 1}, who is no longer an officer: make it again`,
      );
    if (!verifyEd25519(decodeOfficerPublicKey(fromB64u(signer.publicKey)).signing, signed(payload), sig))
      bad(what, 'does not verify with the signing key of the officer it names');
  } catch (e) {
    if (e instanceof ConsoleError) throw e;
    throw new ConsoleError('SERVER_REFUSED', `the sealed criterion of ${what} is malformed`, { cause: e });
  }
  if (m.v !== 1 || m.typ !== 'standing-criterion' || m.org !== s.orgId || m.kind !== kind)
    bad(what, 'is for another organisation or kind');
  if (!Array.isArray(m.seals)) bad(what, 'is malformed');
  const seals = (m.seals as Json[]).map((x): Seal => {
    if (
      typeof x !== 'object' ||
      x === null ||
      typeof x.i !== 'number' ||
      !(x.enc instanceof Uint8Array) ||
      !(x.ct instanceof Uint8Array)
    )
      bad(what, 'is malformed');
    return { i: x.i, enc: x.enc, ct: x.ct };
  });
  return { by: m.by as number, seals };
}

/** Opens this officer's seal of a verified criterion; null when it holds none for them. */
async function openSeal(
  s: OfficerSession,
  v: VerifiedCriterion,
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

/** What the console tells an officer whose criterion holds no seal for them. */
export const RESEAL_STEP =
  "not sealed to you (you became an officer after it was made): an officer who holds a seal of it runs 'custos console reseal'";

/**
 * Re-seals a criterion to the officers of org.json that hold no seal of it: null when none
 * lacks one, or when this officer cannot open it either. The new blob keeps the seals of
 * still-listed officers, drops those of officers no longer listed, and is signed by this
 * officer (`by`), so every officer checks it against their own officer list.
 */
export async function resealCriterion(
  s: OfficerSession,
  bytes: Uint8Array,
  kind: Criterion['kind'],
  label: string,
  what: string,
): Promise<{ readonly sealed: Uint8Array; readonly to: readonly number[] } | null> {
  const v = verifyCriterion(s, bytes, kind, what);
  const lacking = s.officer.org.officers.filter((o) => !v.seals.some((x) => x.i === o.index));
  if (lacking.length === 0) return null;
  const c = await openSeal(s, v, kind, label, what);
  if (c === null) return null;
  const listed = new Set(s.officer.org.officers.map((o) => o.index));
  return {
    sealed: await sealCriterion(
      s,
      c,
      label,
      v.seals.filter((x) => listed.has(x.i)),
    ),
    to: lacking.map((o) => o.index),
  };
}

/** A rule or hold this officer re-sealed, and the officers (0-based) it now reaches too. */
export interface ResealedCriterion {
  readonly id: string;
  readonly kind: Criterion['kind'];
  readonly to: readonly number[];
}

/** A rule or hold left as it was, and why; `reseal` when it holds no seal for this officer. */
export interface SkippedCriterion {
  readonly id: string;
  readonly why: string;
  readonly reseal?: true;
}

/** What extending did: per rule or hold, the buckets added, and what could not be covered. */
export interface ExtendedCriteria {
  readonly rules: readonly { readonly ruleId: string; readonly buckets: readonly string[] }[];
  readonly holds: readonly { readonly holdId: string; readonly buckets: readonly string[] }[];
  /** Rules and holds re-sealed to officers who lacked a seal (added after they were made). */
  readonly resealed: readonly ResealedCriterion[];
  /** Rules or holds with uncovered buckets this officer could not extend, and why. */
  readonly skipped: readonly SkippedCriterion[];
}

const b64 = (t: Uint8Array): string => Buffer.from(t).toString('base64url');

/**
 * A hold's AND'ed tokens under one bucket's index key (base64url), exactly as search derives
 * them: placing and extending a hold both use this. INVALID_OPTIONS past the server's limit.
 */
export function holdTokensFor(
  indexKey: Parameters<typeof tokensForQuery>[0],
  c: { readonly conversationId: string } | { readonly query: string; readonly matchDiacritics?: boolean },
): string[] {
  const t = tokensForQuery(
    indexKey,
    'query' in c
      ? { text: parseSearchText(c.query).tokenText, matchDiacritics: c.matchDiacritics === true }
      : { conversationId: c.conversationId },
  );
  if (t.allOf.length > MAX_HOLD_TOKENS)
    throw new ConsoleError('INVALID_OPTIONS', `--query has more than ${MAX_HOLD_TOKENS} words; shorten it`);
  return t.allOf.map(b64);
}

/** An active lexicon rule or query/conversation hold as the server lists it. */
interface Standing {
  readonly kind: Criterion['kind'];
  readonly id: string;
  /** Rule name or hold matter: bound into each seal's AAD. */
  readonly label: string;
  readonly sealed: string | null;
  readonly covered: ReadonlySet<string>;
}

/** Every active lexicon rule and query or conversation hold of the org. */
async function listStanding(s: OfficerSession): Promise<Standing[]> {
  const out: Standing[] = [];
  const covered = (x: unknown) => new Set(Array.isArray(x) ? (x as unknown[]).map(String) : []);
  const rules = await s.call('GET', `/v1/orgs/${s.orgId}/review/rules`);
  for (const r of Array.isArray(rules.rules) ? (rules.rules as Json[]) : [])
    out.push({
      kind: 'rule',
      id: String(r.ruleId),
      label: String(r.name),
      sealed: typeof r.sealed === 'string' ? r.sealed : null,
      covered: covered(r.buckets),
    });
  for (let after: string | null = null, page = 0; page < 1000; page++) {
    const q: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
    const listed = await s.call('GET', `/v1/orgs/${s.orgId}/holds?limit=200${q}`);
    for (const h of Array.isArray(listed.holds) ? (listed.holds as Json[]) : []) {
      if ((h.kind !== 'query' && h.kind !== 'conversation') || h.releasedAt !== null) continue;
      out.push({
        kind: 'hold',
        id: String(h.holdId),
        label: String(h.matter),
        sealed: typeof h.sealed === 'string' ? h.sealed : null,
        covered: covered(h.buckets),
      });
    }
    after = typeof listed.next === 'string' ? listed.next : null;
    if (after === null) break;
  }
  return out;
}

const nameOf = (x: Standing): string => `${x.kind === 'rule' ? 'rule' : 'hold'} ${x.id}`;
const pathOf = (s: OfficerSession, x: Standing): string =>
  x.kind === 'rule'
    ? `/v1/orgs/${s.orgId}/review/rules/${encodeURIComponent(x.id)}`
    : `/v1/orgs/${s.orgId}/holds/${encodeURIComponent(x.id)}`;

/**
 * Re-seals one listed criterion to the officers lacking a seal and uploads it (`PUT …/sealed`,
 * an audit act); the blob the server now holds is returned, so callers read the new one.
 */
async function resealOne(
  s: OfficerSession,
  x: Standing,
  say: (m: string) => void,
): Promise<{ sealed: string; to: readonly number[] } | null> {
  if (x.sealed === null) return null;
  const r = await resealCriterion(s, fromB64u(x.sealed), x.kind, x.label, nameOf(x));
  if (r === null) return null;
  const sealed = Buffer.from(r.sealed).toString('base64url');
  await s.call('PUT', `${pathOf(s, x)}/sealed`, { sealed });
  say(`${nameOf(x)}: re-sealed to officer(s) ${r.to.map((i) => i + 1).join(', ')}`);
  return { sealed, to: r.to };
}

/**
 * `custos console reseal`: re-seals every active lexicon rule and query or conversation hold
 * to the officers of org.json who hold no seal of it (added after it was made), so they can
 * extend it to new buckets. Criteria this officer holds no seal of, or whose maker is no
 * longer an officer, are skipped with the reason; a criterion whose signature fails stops.
 */
export async function resealStandingCriteria(
  s: OfficerSession,
  options: { readonly progress?: (m: string) => void } = {},
): Promise<{
  readonly resealed: readonly ResealedCriterion[];
  readonly skipped: readonly SkippedCriterion[];
}> {
  const say = options.progress ?? ((): void => undefined);
  const resealed: ResealedCriterion[] = [];
  const skipped: SkippedCriterion[] = [];
  for (const x of await listStanding(s)) {
    try {
      const r = await resealOne(s, x, say);
      if (r !== null) resealed.push({ id: x.id, kind: x.kind, to: r.to });
      else if (x.sealed !== null && (await cannotOpen(s, x)))
        skipped.push({ id: x.id, why: RESEAL_STEP, reseal: true });
    } catch (e) {
      if (!isConsoleError(e, 'PROFILE_INVALID')) throw e;
      skipped.push({ id: x.id, why: e.message });
    }
  }
  return { resealed, skipped };
}

/** Whether a criterion (already verified) holds no seal for this officer. */
async function cannotOpen(s: OfficerSession, x: Standing): Promise<boolean> {
  return (await openCriterion(s, fromB64u(x.sealed!), x.kind, x.label, nameOf(x))) === null;
}

/**
 * Extends every active lexicon rule and query or conversation hold to the current and future
 * buckets it does not cover yet and this officer holds a wrap of. First it re-seals each to
 * the listed officers who lack a seal (as `custos console reseal`). Idempotent: a rerun sends
 * nothing for buckets already covered.
 */
export async function extendStandingCriteria(
  s: OfficerSession,
  options: { readonly now?: number; readonly progress?: (m: string) => void } = {},
): Promise<ExtendedCriteria> {
  const now = options.now ?? Date.now();
  const say = options.progress ?? ((): void => undefined);
  const open = (await s.serverBuckets()).filter((b) => b.notAfter >= now).map((b) => b.bucket);
  const keys = new Map<string, Awaited<ReturnType<typeof unwrapBucketKey>> | null>();
  const keyOf = async (bucket: string) => {
    if (!keys.has(bucket)) {
      const wrap = await findOfficerWrap(s, bucket);
      keys.set(
        bucket,
        wrap.blob === undefined ? null : await unwrapBucketKey(wrap.blob, s.officer.keys.hpkePrivateKey),
      );
    }
    return keys.get(bucket)!;
  };
  const skipped: SkippedCriterion[] = [];
  const resealed: ResealedCriterion[] = [];
  const rulesOut: { ruleId: string; buckets: string[] }[] = [];
  const holdsOut: { holdId: string; buckets: string[] }[] = [];
  for (const x of await listStanding(s)) {
    let c: Criterion | null;
    const missing = open.filter((b) => !x.covered.has(b));
    // A criterion whose maker left the officers is skipped with the reason; anything else stops.
    try {
      const r = await resealOne(s, x, say);
      if (r !== null) resealed.push({ id: x.id, kind: x.kind, to: r.to });
      if (missing.length === 0) continue;
      if (x.sealed === null) {
        skipped.push({
          id: x.id,
          why: `made without a sealed criterion: ${x.kind === 'rule' ? 'add the rule' : 'place the hold'} again`,
        });
        continue;
      }
      c = await openCriterion(s, fromB64u(r?.sealed ?? x.sealed), x.kind, x.label, nameOf(x));
      if (c === null) {
        skipped.push({ id: x.id, why: RESEAL_STEP, reseal: true });
        continue;
      }
    } catch (e) {
      if (!isConsoleError(e, 'PROFILE_INVALID')) throw e;
      skipped.push({ id: x.id, why: e.message });
      continue;
    }
    const usable: { bucket: string; key: NonNullable<Awaited<ReturnType<typeof keyOf>>> }[] = [];
    for (const b of missing) {
      const k = await keyOf(b);
      if (k === null)
        skipped.push({ id: x.id, why: `you hold no wrap of bucket ${b}: another officer extends it there` });
      else usable.push({ bucket: b, key: k });
    }
    if (usable.length === 0) continue;
    const names = usable.map((u) => u.bucket);
    if (c.kind === 'rule') {
      const terms = c.terms;
      await s.call('POST', `${pathOf(s, x)}/buckets`, {
        buckets: usable.map((u) => ({
          bucket: u.bucket,
          terms: terms.map((t) => tokensForQuery(u.key.indexKey, { text: t }).allOf.map(b64)),
        })),
      });
      say(`lexicon rule ${x.id}: extended to ${names.join(', ')}`);
      rulesOut.push({ ruleId: x.id, buckets: names });
    } else {
      const hc = c;
      await s.call('POST', `${pathOf(s, x)}/buckets`, {
        buckets: usable.map((u) => ({ bucketId: u.bucket, tokens: holdTokensFor(u.key.indexKey, hc) })),
      });
      say(`legal hold ${x.id}: extended to ${names.join(', ')}`);
      holdsOut.push({ holdId: x.id, buckets: names });
    }
  }
  return { rules: rulesOut, holds: holdsOut, resealed, skipped };
}
