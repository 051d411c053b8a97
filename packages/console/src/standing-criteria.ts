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
 */
import { decodeStrictCbor, encodeDeterministicCbor, tokensForQuery, BucketPublicKey } from '@custos/core';
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

/** Seals `c` to every officer in org.json and signs it; `label` is the rule name or hold matter. */
export async function sealCriterion(s: OfficerSession, c: Criterion, label: string): Promise<Uint8Array> {
  const plain = encodeDeterministicCbor(
    c.kind === 'rule'
      ? { terms: [...c.terms] }
      : 'query' in c
        ? { query: c.query, md: c.matchDiacritics }
        : { conversationId: c.conversationId },
  );
  const seals: { i: number; enc: Uint8Array; ct: Uint8Array }[] = [];
  for (const o of s.officer.org.officers) {
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

/**
 * Opens this officer's seal of a criterion, after checking its signature against org.json.
 * Null when the criterion has no seal for this officer (made before they joined).
 */
export async function openCriterion(
  s: OfficerSession,
  bytes: Uint8Array,
  kind: Criterion['kind'],
  label: string,
  what: string,
): Promise<Criterion | null> {
  let payload: Uint8Array;
  let m: Json;
  try {
    const outer = decodeStrictCbor(bytes, 'criterion', 'MALFORMED_INPUT') as unknown[];
    if (!Array.isArray(outer) || outer.length !== 2) bad(what, 'is malformed');
    const [p, sig] = outer as [unknown, unknown];
    if (!(p instanceof Uint8Array) || !(sig instanceof Uint8Array)) bad(what, 'is malformed');
    payload = p;
    m = decodeStrictCbor(payload, 'criterion payload', 'MALFORMED_INPUT') as Json;
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
  const mine = (Array.isArray(m.seals) ? (m.seals as Json[]) : []).find((x) => x.i === s.officerIndex);
  if (mine === undefined) return null;
  if (!(mine.enc instanceof Uint8Array) || !(mine.ct instanceof Uint8Array)) bad(what, 'is malformed');
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
  const c = decodeStrictCbor(plain, 'criterion', 'MALFORMED_INPUT') as Json;
  if (kind === 'rule' && Array.isArray(c.terms) && c.terms.every((t) => typeof t === 'string'))
    return { kind, terms: c.terms };
  if (kind === 'hold' && typeof c.query === 'string')
    return { kind, query: c.query, matchDiacritics: c.md === true };
  if (kind === 'hold' && typeof c.conversationId === 'string')
    return { kind, conversationId: c.conversationId };
  return bad(what, 'holds no criterion of its kind');
}

/** What extending did: per rule or hold, the buckets added, and what could not be covered. */
export interface ExtendedCriteria {
  readonly rules: readonly { readonly ruleId: string; readonly buckets: readonly string[] }[];
  readonly holds: readonly { readonly holdId: string; readonly buckets: readonly string[] }[];
  /** Rules or holds with uncovered buckets this officer could not extend, and why. */
  readonly skipped: readonly { readonly id: string; readonly why: string }[];
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

/**
 * Extends every active lexicon rule and query or conversation hold to the current and future
 * buckets it does not cover yet and this officer holds a wrap of. Idempotent: a rerun sends
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
  const skipped: { id: string; why: string }[] = [];
  // A criterion whose maker left the officers is skipped with the reason; anything else stops.
  const gone = (e: unknown, id: string): undefined => {
    if (!isConsoleError(e, 'PROFILE_INVALID')) throw e;
    skipped.push({ id, why: e.message });
    return undefined;
  };
  const noWrap = (id: string, bucket: string) =>
    skipped.push({ id, why: `you hold no wrap of bucket ${bucket}: another officer extends it there` });
  const rulesOut: { ruleId: string; buckets: string[] }[] = [];
  const rules = await s.call('GET', `/v1/orgs/${s.orgId}/review/rules`);
  for (const r of Array.isArray(rules.rules) ? (rules.rules as Json[]) : []) {
    const ruleId = String(r.ruleId);
    const covered = new Set(Array.isArray(r.buckets) ? (r.buckets as unknown[]).map(String) : []);
    const missing = open.filter((b) => !covered.has(b));
    if (missing.length === 0) continue;
    if (typeof r.sealed !== 'string') {
      skipped.push({ id: ruleId, why: 'made without a sealed criterion: add the rule again' });
      continue;
    }
    const c = await openCriterion(s, fromB64u(r.sealed), 'rule', String(r.name), `rule ${ruleId}`).catch(
      (e: unknown) => gone(e, ruleId),
    );
    if (c === undefined) continue;
    if (c === null || c.kind !== 'rule') {
      skipped.push({ id: ruleId, why: 'not sealed to you: another officer extends it' });
      continue;
    }
    const buckets: { bucket: string; terms: string[][] }[] = [];
    for (const b of missing) {
      const k = await keyOf(b);
      if (k === null) {
        noWrap(ruleId, b);
        continue;
      }
      buckets.push({
        bucket: b,
        terms: c.terms.map((t) => tokensForQuery(k.indexKey, { text: t }).allOf.map(b64)),
      });
    }
    if (buckets.length === 0) continue;
    await s.call('POST', `/v1/orgs/${s.orgId}/review/rules/${encodeURIComponent(ruleId)}/buckets`, {
      buckets,
    });
    say(`lexicon rule ${ruleId}: extended to ${buckets.map((b) => b.bucket).join(', ')}`);
    rulesOut.push({ ruleId, buckets: buckets.map((b) => b.bucket) });
  }
  const holdsOut: { holdId: string; buckets: string[] }[] = [];
  for (let after: string | null = null, page = 0; page < 1000; page++) {
    const q: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
    const listed = await s.call('GET', `/v1/orgs/${s.orgId}/holds?limit=200${q}`);
    const holds = Array.isArray(listed.holds) ? (listed.holds as Json[]) : [];
    for (const h of holds) {
      if ((h.kind !== 'query' && h.kind !== 'conversation') || h.releasedAt !== null) continue;
      const holdId = String(h.holdId);
      const covered = new Set(Array.isArray(h.buckets) ? (h.buckets as unknown[]).map(String) : []);
      const missing = open.filter((b) => !covered.has(b));
      if (missing.length === 0) continue;
      if (typeof h.sealed !== 'string') {
        skipped.push({ id: holdId, why: 'placed without a sealed criterion: place the hold again' });
        continue;
      }
      const c = await openCriterion(s, fromB64u(h.sealed), 'hold', String(h.matter), `hold ${holdId}`).catch(
        (e: unknown) => gone(e, holdId),
      );
      if (c === undefined) continue;
      if (c === null) {
        skipped.push({ id: holdId, why: 'not sealed to you: another officer extends it' });
        continue;
      }
      const buckets: { bucketId: string; tokens: string[] }[] = [];
      for (const b of missing) {
        const k = await keyOf(b);
        if (k === null) noWrap(holdId, b);
        else if (c.kind === 'hold') buckets.push({ bucketId: b, tokens: holdTokensFor(k.indexKey, c) });
      }
      if (buckets.length === 0) continue;
      await s.call('POST', `/v1/orgs/${s.orgId}/holds/${encodeURIComponent(holdId)}/buckets`, { buckets });
      say(`legal hold ${holdId}: extended to ${buckets.map((b) => b.bucketId).join(', ')}`);
      holdsOut.push({ holdId, buckets: buckets.map((b) => b.bucketId) });
    }
    after = typeof listed.next === 'string' ? listed.next : null;
    if (after === null) break;
  }
  return { rules: rulesOut, holds: holdsOut, skipped };
}
