/**
 * Re-sealing standing criteria (`custos console reseal`, and first thing in every extension;
 * docs/officers.md): an officer added later holds no seal of the lexicon rules and holds made
 * before; any officer who holds one re-seals them to the officers of their org.json who lack
 * one, keeping the other seals and signing the new blob; the server stores it opaque
 * (`PUT …/sealed`, an audit act).
 */
import { holdsAnswerLimit, REVIEW_RULES_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { isConsoleError } from './console-error.js';
import type { OfficerSession } from './officer-session.js';
import { fromB64u } from './profile-files.js';
import {
  openCriterion,
  openSeal,
  sealCriterion,
  verifyCriterion,
  type Criterion,
} from './standing-criterion-seal.js';

type Json = Record<string, unknown>;

/** Holds asked for per page of the listing. */
const HOLDS_PAGE = 200;

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

/** An active lexicon rule or query/conversation hold as the server lists it. */
export interface Standing {
  readonly kind: Criterion['kind'];
  readonly id: string;
  /** Rule name or hold matter: bound into each seal's AAD. */
  readonly label: string;
  readonly sealed: string | null;
  readonly covered: ReadonlySet<string>;
}

/** Every active lexicon rule and query or conversation hold of the org. */
export async function listStanding(s: OfficerSession): Promise<Standing[]> {
  const out: Standing[] = [];
  const covered = (x: unknown) => new Set(Array.isArray(x) ? (x as unknown[]).map(String) : []);
  const rules = await s.call('GET', `/v1/orgs/${s.orgId}/review/rules`, undefined, {
    maxAnswerBytes: REVIEW_RULES_ANSWER_LIMIT_BYTES,
  });
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
    const listed = await s.call('GET', `/v1/orgs/${s.orgId}/holds?limit=${HOLDS_PAGE}${q}`, undefined, {
      maxAnswerBytes: holdsAnswerLimit(HOLDS_PAGE),
    });
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

/** How progress and errors name a rule or hold. */
export const nameOf = (x: Standing): string => `${x.kind === 'rule' ? 'rule' : 'hold'} ${x.id}`;
/** The server path of a rule or hold. */
export const pathOf = (s: OfficerSession, x: Standing): string =>
  x.kind === 'rule'
    ? `/v1/orgs/${s.orgId}/review/rules/${encodeURIComponent(x.id)}`
    : `/v1/orgs/${s.orgId}/holds/${encodeURIComponent(x.id)}`;

/**
 * Re-seals one listed criterion to the officers lacking a seal and uploads it (`PUT …/sealed`,
 * an audit act); the blob the server now holds is returned, so callers read the new one.
 */
export async function resealOne(
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
